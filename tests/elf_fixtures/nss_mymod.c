/* A minimal NSS module "mymod": answers nothing, but needs a library of its own. */
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>
int nssdep(void);
enum nss_status _nss_mymod_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, int *err) {
    (void)name; (void)pw; (void)buf; (void)len;
    *err = nssdep() ? ENOENT : 0;
    return NSS_STATUS_NOTFOUND;
}
