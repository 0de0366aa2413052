/* libFuzzer target: the CSV reader (quoted and unquoted, comma and tab)
 * and the JSON-lines reader on arbitrary bytes: every input ends in rows
 * or in an error with a position, never in a crash or a hang. */
#include <stdint.h>
#include <stdio.h>

#include "bsrc.h"
#include "csv.h"
#include "fuzz_file.h"
#include "json.h"
#include "stream.h"

static int null_write(void *data, const char *buf, size_t len)
{
    (void)data; (void)buf; (void)len;
    return 0;
}

static void read_csv(const char *path, char delim, bool quoting)
{
    bsrc *bs = bs_open(path);
    struct csv c;
    csv_init(&c, bs, delim, quoting);
    int n;
    size_t rows = 0;
    while ((n = csv_next(&c)) != 0 && rows++ < 100000) {
        if (n < 0 && c.err_fatal)
            break;
        size_t len;
        (void)csv_raw(&c, &len);
    }
    csv_release(&c);
    bs_free(bs);
}

static void read_jsonl(const char *path)
{
    bsrc *bs = bs_open(path);
    struct csv c;
    struct json j;
    msgpack_packer pk;
    msgpack_packer_init(&pk, NULL, null_write);
    csv_init(&c, bs, ',', true);
    json_init(&j);
    const char *line;
    size_t len;
    int r;
    while ((r = csv_getline(&c, &line, &len)) > 0)
        json_pack(&j, line, len, true, &pk);
    json_release(&j);
    csv_release(&c);
    bs_free(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0)
        return 0;
    read_csv(path, ',', true);
    read_csv(path, '\t', false);
    read_csv(path, ';', true);
    read_jsonl(path);
    close(fd);
    return 0;
}
