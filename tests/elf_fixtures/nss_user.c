/* Looks a user up: glibc reads /etc/nsswitch.conf and dlopens the modules it names. */
#include <pwd.h>
#include <stdio.h>
int main(int argc, char **argv) {
    struct passwd *pw = getpwnam(argc > 1 ? argv[1] : "root");
    printf("%s\n", pw ? pw->pw_dir : "(none)");
    return 0;
}
