// OpenSSL (libssl, libcrypto), seen by the StadiumTLS module only.
#ifndef STADIUM_COPENSSL_SHIM_H
#define STADIUM_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509v3.h>
#include <malloc.h>

// Swift cannot call OpenSSL's function-like macros; these inline functions stand in for them.

static inline int st_ctx_set_proto_range(SSL_CTX *ctx, int min_version, int max_version) {
    return SSL_CTX_set_min_proto_version(ctx, min_version) && SSL_CTX_set_max_proto_version(ctx, max_version);
}

static inline int st_ssl_set_proto_range(SSL *ssl, int min_version, int max_version) {
    return SSL_set_min_proto_version(ssl, min_version) && SSL_set_max_proto_version(ssl, max_version);
}

// No renegotiation, no compression, no tickets (a resumed session would need the SSL kept),
// the server's cipher order; and only ECDHE groups a browser offers.
static inline int st_ctx_harden(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    return (int)SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384");
}

static inline long st_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }

static inline long st_ctx_disable_session_cache(SSL_CTX *ctx) {
    return SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}

static inline int st_ssl_get_ex_new_index(void) {
    return SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

// The server a client expects: an IP address literal is checked against the certificate's
// addresses; a DNS name against its names, and sent as SNI (which carries names only).
static inline int st_ssl_expect_peer_name(SSL *ssl, const char *name) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1) return 1;
    return X509_VERIFY_PARAM_set1_host(param, name, 0) == 1 && SSL_set_tlsext_host_name(ssl, name) == 1;
}

static inline int st_cipher_ctx_set_tag(EVP_CIPHER_CTX *ctx, void *tag, int length) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, length, tag);
}

static inline int st_cipher_ctx_get_tag(EVP_CIPHER_CTX *ctx, void *tag, int length) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, length, tag);
}

/* A handshake's SSL frees tens of KiB when it ends, but glibc keeps those pages: hand them back. */
static inline void st_return_freed_pages(void) {
    malloc_trim(0);
}

#endif
