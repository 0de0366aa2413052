/* test_shard: the shard hash against values computed independently (by
 * tests/bats/shards-ref.py, a separate SipHash-2-4 in Python), the
 * canonical key bytes of each MessagePack type, and the spread of keys
 * over shards. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "shard.h"
#include "siphash.h"

static msgpack_object str(const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)strlen(s);
    return o;
}

static msgpack_object pos(uint64_t v)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    o.via.u64 = v;
    return o;
}

static msgpack_object neg(int64_t v)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER};
    o.via.i64 = v;
    return o;
}

static msgpack_object flt(double v, bool f32)
{
    msgpack_object o = {.type = f32 ? MSGPACK_OBJECT_FLOAT32 : MSGPACK_OBJECT_FLOAT64};
    o.via.f64 = v;
    return o;
}

/* Without a check line: for the loops. */
static uint64_t hash_quiet(msgpack_object o)
{
    uint64_t h = 0;
    shard_key_hash(&o, &h);
    return h;
}

static uint64_t hash_of(msgpack_object o)
{
    uint64_t h = 0;
    CHECK_TRUE(shard_key_hash(&o, &h), "a string or number is a key");
    return h;
}

int main(void)
{
    /* The reference vector of the SipHash paper: key 00..0f, 15 bytes 00..0e. */
    unsigned char msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (unsigned char)i;
    CHECK_TRUE(sip_hash(&sip_public_key, msg, 15) == UINT64_C(0xa129ca6149be45e5),
               "SipHash-2-4 reference vector under the public key");

    /* Values from tests/bats/shards-ref.py. */
    CHECK_TRUE(hash_of(str("u1")) == UINT64_C(7398132348129221304), "\"u1\"");
    CHECK_TRUE(hash_of(str("alice")) == UINT64_C(8167813390513493923), "\"alice\"");
    CHECK_TRUE(hash_of(str("")) == UINT64_C(8246050544436514353), "the empty string");
    CHECK_TRUE(hash_of(str("\xc3\xbc")) == UINT64_C(12846696729191012175), "UTF-8 bytes");
    CHECK_TRUE(hash_of(pos(12)) == UINT64_C(189163395813869736), "12 as its digits");
    CHECK_TRUE(hash_of(pos(0)) == UINT64_C(5676083054106314383), "0");
    CHECK_TRUE(hash_of(pos(UINT64_MAX)) == UINT64_C(5153896842491438141), "the largest unsigned integer");
    CHECK_TRUE(hash_of(neg(INT64_MIN)) == UINT64_C(10160774995332093049), "the smallest integer");
    CHECK_TRUE(hash_of(flt(1.5, false)) == UINT64_C(1486938283870763342), "1.5 as its shortest text");
    CHECK_TRUE(hash_of(flt(0.1f, true)) == UINT64_C(16188804695436258561), "float32 0.1 as \"0.1\"");

    /* The same key in every type it can come in. */
    CHECK_TRUE(hash_of(str("12")) == hash_of(pos(12)), "\"12\" and 12 agree");
    CHECK_TRUE(hash_of(flt(12.0, false)) == hash_of(pos(12)), "12.0 and 12 agree");
    CHECK_TRUE(hash_of(flt(12.0, true)) == hash_of(pos(12)), "float32 12 and 12 agree");
    CHECK_TRUE(hash_of(flt(-7.0, false)) == hash_of(neg(-7)), "-7.0 and -7 agree");
    CHECK_TRUE(hash_of(flt(-0.0, false)) == hash_of(pos(0)), "-0.0 is 0");
    CHECK_TRUE(hash_of(str("12.0")) != hash_of(pos(12)), "the text \"12.0\" is another key");

    /* Not keys: nil, booleans, arrays, maps. */
    msgpack_object nil = {.type = MSGPACK_OBJECT_NIL}, b = {.type = MSGPACK_OBJECT_BOOLEAN},
                   arr = {.type = MSGPACK_OBJECT_ARRAY}, map = {.type = MSGPACK_OBJECT_MAP};
    uint64_t h;
    CHECK_TRUE(!shard_key_hash(&nil, &h) && !shard_key_hash(&b, &h) && !shard_key_hash(&arr, &h) &&
               !shard_key_hash(&map, &h), "nil, booleans, arrays and maps are not keys");

    /* Spread: 100,000 integer ids over 16 shards, each within 5% of 6250. */
    uint32_t count[16] = {0};
    for (uint64_t id = 1; id <= 100000; id++)
        count[shard_of(hash_quiet(pos(id)), 16)]++;
    uint32_t lo = count[0], hi = count[0];
    for (int i = 1; i < 16; i++) {
        lo = count[i] < lo ? count[i] : lo;
        hi = count[i] > hi ? count[i] : hi;
    }
    CHECK_TRUE(lo > 5937 && hi < 6563, "integer ids spread evenly over 16 shards");
    /* Shards nest: shard i of N is shards i and i + N of 2N. */
    bool nest = true;
    for (uint64_t id = 1; id <= 10000; id++) {
        uint64_t x = hash_quiet(pos(id));
        nest &= shard_of(x, 8) % 4 == shard_of(x, 4);
    }
    CHECK_TRUE(nest, "shard i of 4 is shards i and i + 4 of 8");
    return check_done();
}
