#include <iconv.h>
#include <stdio.h>
int main(void) {
    iconv_t cd = iconv_open("EUC-JP", "UTF-8");
    if (cd == (iconv_t)-1) { perror("iconv_open"); return 1; }
    iconv_close(cd);
    puts("ok");
    return 0;
}
