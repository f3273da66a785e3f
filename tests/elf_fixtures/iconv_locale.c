/* Converts to the locale's charset, naming none itself (what bash does for $'\u00e9'). */
#include <iconv.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
int main(void) {
    setlocale(LC_ALL, "");
    iconv_t cd = iconv_open(nl_langinfo(CODESET), "UTF-8");
    if (cd != (iconv_t)-1) iconv_close(cd);
    puts("ok");
    return 0;
}
