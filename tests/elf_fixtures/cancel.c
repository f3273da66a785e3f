/* pthread_cancel: glibc dlopens libgcc_s.so.1 to unwind the cancelled thread. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *sleeper(void *arg) { (void)arg; for (;;) pause(); return NULL; }
int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    pthread_cancel(t);
    pthread_join(t, NULL);
    puts("cancelled");
    return 0;
}
