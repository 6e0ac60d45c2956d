/* Reads file paths from stdin (one a line) and prints, for each, "== path"
 * then tzl_describe's text. Each file is placed one byte past a malloc'd
 * boundary, so every read of the lite reader is unaligned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"

static int describe_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    unsigned char *raw;
    long size;
    size_t len, need;
    char *text;
    if (!fp) {
        printf("== %s\ncannot open\n", path);
        return 1;
    }
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    len = size > 0 ? (size_t)size : 0;
    raw = (unsigned char *)malloc(len + 1);
    if (!raw || fread(raw + 1, 1, len, fp) != len) {
        printf("== %s\ncannot read\n", path);
        fclose(fp);
        free(raw);
        return 1;
    }
    fclose(fp);
    need = tzl_describe(raw + 1, len, NULL, 0) + 1;
    text = (char *)malloc(need);
    if (!text) {
        free(raw);
        return 1;
    }
    tzl_describe(raw + 1, len, text, need);
    printf("== %s\n%s", path, text);
    free(text);
    free(raw);
    return 0;
}

int main(void) {
    char line[4096];
    int failures = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0]) failures += describe_file(line);
    }
    return failures ? 1 : 0;
}
