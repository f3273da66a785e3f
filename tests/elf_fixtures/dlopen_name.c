/* Loads a plugin by a literal name: invisible to the loader, visible in .rodata. */
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
    void *h = dlopen("libplug.so.1", RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    int (*plug)(void) = (int (*)(void))dlsym(h, "plug");
    printf("%d\n", plug());
    return 0;
}
