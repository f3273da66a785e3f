"""Entry script of the bench venv: imports large frameworks at module level and lazily."""
import django
import pandas
import sqlalchemy
import sympy
from django.conf import settings


def configure():
    settings.configure(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"])
    django.setup()
    from django.contrib.auth.models import User  # noqa: F401


print(django.get_version(), pandas.__version__, sqlalchemy.__version__, sympy.__version__)
