#ifndef CRELAY_OPENSSL_SHIM_H
#define CRELAY_OPENSSL_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/// HMAC-SHA256 of `data` under `key`, written to `out` (32 bytes). Returns 1 on success.
static inline int relay_hmac_sha256(const uint8_t *key, size_t key_len,
                                    const uint8_t *data, size_t data_len,
                                    uint8_t *out) {
    unsigned int out_len = 0;
    const unsigned char *result = HMAC(EVP_sha256(), key, (int)key_len, data, data_len, out, &out_len);
    return result != NULL && out_len == 32;
}

/// Constant-time comparison of two buffers of `len` bytes. Returns 0 when equal.
static inline int relay_memcmp(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(a, b, len);
}

/// Fills `out` with `len` cryptographically secure random bytes. Returns 1 on success.
static inline int relay_random_bytes(uint8_t *out, size_t len) {
    return RAND_bytes(out, (int)len);
}

#endif
