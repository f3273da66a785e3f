/* Linked into the runtime-oracle programs: at exit, print every object mapped in the process
 * (dl_iterate_phdr gives the loader's l_name: the path it opened), dlopened ones included. */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>

static int show(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    if (info->dlpi_name && info->dlpi_name[0] == '/')
        printf("MAP %s\n", info->dlpi_name);
    return 0;
}

__attribute__((destructor)) static void show_maps(void) {
    fflush(stdout);
    dl_iterate_phdr(show, NULL);
    fflush(stdout);
}
