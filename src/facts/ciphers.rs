//! OpenSSL cipher suites and cipher strings, as TLS <= 1.2 `ciphers` lists
//! (Mosquitto `ciphers`, the spec's `tls.ciphers`) are read by OpenSSL's
//! `SSL_CTX_set_cipher_list`: names, keywords (`HIGH`, `kRSA`, `aNULL`),
//! `+` combinations, `!`/`-` exclusions and `@` directives.
//!
//! The suite table is `openssl ciphers -v 'ALL:COMPLEMENTOFALL'` of OpenSSL
//! 3.0, plus the legacy suites (RC4, DES, 3DES, EXPORT, IDEA, SEED) that
//! OpenSSL 1.x still offers. Broad keywords (`ALL`, `DEFAULT`, `HIGH`, ...)
//! select OpenSSL 3's suites only; legacy suites are selected by their own
//! name or by the keywords that name their weakness (`RC4`, `3DES`, `EXP`).

/// The protocol version a suite first appeared in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Ssl3,
    Tls10,
    Tls12,
}

/// Key exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kx {
    Rsa,
    Dhe,
    Ecdhe,
    Psk,
    RsaPsk,
    DhePsk,
    EcdhePsk,
    Srp,
}

/// Authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Au {
    Rsa,
    Dss,
    Ecdsa,
    Anon,
    Psk,
    Srp,
}

/// Bulk encryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enc {
    AesGcm,
    AesCcm,
    AesCcm8,
    /// AES in CBC mode.
    Aes,
    Chacha20,
    AriaGcm,
    /// Camellia in CBC mode.
    Camellia,
    Null,
    TripleDes,
    Des,
    Rc4,
    Rc2,
    Idea,
    /// SEED in CBC mode.
    Seed,
}

/// Message authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mac {
    Aead,
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

/// A TLS <= 1.2 cipher suite by its OpenSSL name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub name: &'static str,
    pub proto: Proto,
    pub kx: Kx,
    pub au: Au,
    pub enc: Enc,
    pub bits: u16,
    pub mac: Mac,
    /// Export-grade (40/56-bit) suite.
    pub export: bool,
    /// Not built by OpenSSL 3 (only selected by name or by its weakness).
    pub legacy: bool,
}

use Au::{Anon, Dss, Ecdsa};
use Enc::{Aes, AesCcm, AesCcm8, AesGcm, AriaGcm, Camellia, Chacha20, Null};
use Kx::{Dhe, DhePsk, Ecdhe, EcdhePsk, RsaPsk};
use Mac::{Aead, Md5, Sha1, Sha256, Sha384};
use Proto::{Ssl3, Tls10, Tls12};

#[allow(clippy::too_many_arguments)]
const fn s(
    name: &'static str,
    proto: Proto,
    kx: Kx,
    au: Au,
    enc: Enc,
    bits: u16,
    mac: Mac,
) -> Suite {
    Suite {
        name,
        proto,
        kx,
        au,
        enc,
        bits,
        mac,
        export: false,
        legacy: false,
    }
}

#[allow(clippy::too_many_arguments)]
const fn legacy(
    name: &'static str,
    proto: Proto,
    kx: Kx,
    au: Au,
    enc: Enc,
    bits: u16,
    mac: Mac,
    export: bool,
) -> Suite {
    Suite {
        name,
        proto,
        kx,
        au,
        enc,
        bits,
        mac,
        export,
        legacy: true,
    }
}

/// TLS 1.3 suites (OpenSSL `ciphersuites` names): all AEAD with forward secrecy.
pub const TLS13_SUITES: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
];

/// Every TLS <= 1.2 suite OpenSSL knows by name.
#[rustfmt::skip]
pub const SUITES: &[Suite] = &[
    s("ECDHE-ECDSA-AES256-GCM-SHA384", Tls12, Ecdhe, Ecdsa, AesGcm, 256, Aead),
    s("ECDHE-RSA-AES256-GCM-SHA384", Tls12, Ecdhe, Au::Rsa, AesGcm, 256, Aead),
    s("DHE-DSS-AES256-GCM-SHA384", Tls12, Dhe, Dss, AesGcm, 256, Aead),
    s("DHE-RSA-AES256-GCM-SHA384", Tls12, Dhe, Au::Rsa, AesGcm, 256, Aead),
    s("ECDHE-ECDSA-CHACHA20-POLY1305", Tls12, Ecdhe, Ecdsa, Chacha20, 256, Aead),
    s("ECDHE-RSA-CHACHA20-POLY1305", Tls12, Ecdhe, Au::Rsa, Chacha20, 256, Aead),
    s("DHE-RSA-CHACHA20-POLY1305", Tls12, Dhe, Au::Rsa, Chacha20, 256, Aead),
    s("ECDHE-ECDSA-AES256-CCM8", Tls12, Ecdhe, Ecdsa, AesCcm8, 256, Aead),
    s("ECDHE-ECDSA-AES256-CCM", Tls12, Ecdhe, Ecdsa, AesCcm, 256, Aead),
    s("DHE-RSA-AES256-CCM8", Tls12, Dhe, Au::Rsa, AesCcm8, 256, Aead),
    s("DHE-RSA-AES256-CCM", Tls12, Dhe, Au::Rsa, AesCcm, 256, Aead),
    s("ECDHE-ECDSA-ARIA256-GCM-SHA384", Tls12, Ecdhe, Ecdsa, AriaGcm, 256, Aead),
    s("ECDHE-ARIA256-GCM-SHA384", Tls12, Ecdhe, Au::Rsa, AriaGcm, 256, Aead),
    s("DHE-DSS-ARIA256-GCM-SHA384", Tls12, Dhe, Dss, AriaGcm, 256, Aead),
    s("DHE-RSA-ARIA256-GCM-SHA384", Tls12, Dhe, Au::Rsa, AriaGcm, 256, Aead),
    s("ADH-AES256-GCM-SHA384", Tls12, Dhe, Anon, AesGcm, 256, Aead),
    s("ECDHE-ECDSA-AES128-GCM-SHA256", Tls12, Ecdhe, Ecdsa, AesGcm, 128, Aead),
    s("ECDHE-RSA-AES128-GCM-SHA256", Tls12, Ecdhe, Au::Rsa, AesGcm, 128, Aead),
    s("DHE-DSS-AES128-GCM-SHA256", Tls12, Dhe, Dss, AesGcm, 128, Aead),
    s("DHE-RSA-AES128-GCM-SHA256", Tls12, Dhe, Au::Rsa, AesGcm, 128, Aead),
    s("ECDHE-ECDSA-AES128-CCM8", Tls12, Ecdhe, Ecdsa, AesCcm8, 128, Aead),
    s("ECDHE-ECDSA-AES128-CCM", Tls12, Ecdhe, Ecdsa, AesCcm, 128, Aead),
    s("DHE-RSA-AES128-CCM8", Tls12, Dhe, Au::Rsa, AesCcm8, 128, Aead),
    s("DHE-RSA-AES128-CCM", Tls12, Dhe, Au::Rsa, AesCcm, 128, Aead),
    s("ECDHE-ECDSA-ARIA128-GCM-SHA256", Tls12, Ecdhe, Ecdsa, AriaGcm, 128, Aead),
    s("ECDHE-ARIA128-GCM-SHA256", Tls12, Ecdhe, Au::Rsa, AriaGcm, 128, Aead),
    s("DHE-DSS-ARIA128-GCM-SHA256", Tls12, Dhe, Dss, AriaGcm, 128, Aead),
    s("DHE-RSA-ARIA128-GCM-SHA256", Tls12, Dhe, Au::Rsa, AriaGcm, 128, Aead),
    s("ADH-AES128-GCM-SHA256", Tls12, Dhe, Anon, AesGcm, 128, Aead),
    s("ECDHE-ECDSA-AES256-SHA384", Tls12, Ecdhe, Ecdsa, Aes, 256, Sha384),
    s("ECDHE-RSA-AES256-SHA384", Tls12, Ecdhe, Au::Rsa, Aes, 256, Sha384),
    s("DHE-RSA-AES256-SHA256", Tls12, Dhe, Au::Rsa, Aes, 256, Sha256),
    s("DHE-DSS-AES256-SHA256", Tls12, Dhe, Dss, Aes, 256, Sha256),
    s("ECDHE-ECDSA-CAMELLIA256-SHA384", Tls12, Ecdhe, Ecdsa, Camellia, 256, Sha384),
    s("ECDHE-RSA-CAMELLIA256-SHA384", Tls12, Ecdhe, Au::Rsa, Camellia, 256, Sha384),
    s("DHE-RSA-CAMELLIA256-SHA256", Tls12, Dhe, Au::Rsa, Camellia, 256, Sha256),
    s("DHE-DSS-CAMELLIA256-SHA256", Tls12, Dhe, Dss, Camellia, 256, Sha256),
    s("ADH-AES256-SHA256", Tls12, Dhe, Anon, Aes, 256, Sha256),
    s("ADH-CAMELLIA256-SHA256", Tls12, Dhe, Anon, Camellia, 256, Sha256),
    s("ECDHE-ECDSA-AES128-SHA256", Tls12, Ecdhe, Ecdsa, Aes, 128, Sha256),
    s("ECDHE-RSA-AES128-SHA256", Tls12, Ecdhe, Au::Rsa, Aes, 128, Sha256),
    s("DHE-RSA-AES128-SHA256", Tls12, Dhe, Au::Rsa, Aes, 128, Sha256),
    s("DHE-DSS-AES128-SHA256", Tls12, Dhe, Dss, Aes, 128, Sha256),
    s("ECDHE-ECDSA-CAMELLIA128-SHA256", Tls12, Ecdhe, Ecdsa, Camellia, 128, Sha256),
    s("ECDHE-RSA-CAMELLIA128-SHA256", Tls12, Ecdhe, Au::Rsa, Camellia, 128, Sha256),
    s("DHE-RSA-CAMELLIA128-SHA256", Tls12, Dhe, Au::Rsa, Camellia, 128, Sha256),
    s("DHE-DSS-CAMELLIA128-SHA256", Tls12, Dhe, Dss, Camellia, 128, Sha256),
    s("ADH-AES128-SHA256", Tls12, Dhe, Anon, Aes, 128, Sha256),
    s("ADH-CAMELLIA128-SHA256", Tls12, Dhe, Anon, Camellia, 128, Sha256),
    s("ECDHE-ECDSA-AES256-SHA", Tls10, Ecdhe, Ecdsa, Aes, 256, Sha1),
    s("ECDHE-RSA-AES256-SHA", Tls10, Ecdhe, Au::Rsa, Aes, 256, Sha1),
    s("DHE-RSA-AES256-SHA", Ssl3, Dhe, Au::Rsa, Aes, 256, Sha1),
    s("DHE-DSS-AES256-SHA", Ssl3, Dhe, Dss, Aes, 256, Sha1),
    s("DHE-RSA-CAMELLIA256-SHA", Ssl3, Dhe, Au::Rsa, Camellia, 256, Sha1),
    s("DHE-DSS-CAMELLIA256-SHA", Ssl3, Dhe, Dss, Camellia, 256, Sha1),
    s("AECDH-AES256-SHA", Tls10, Ecdhe, Anon, Aes, 256, Sha1),
    s("ADH-AES256-SHA", Ssl3, Dhe, Anon, Aes, 256, Sha1),
    s("ADH-CAMELLIA256-SHA", Ssl3, Dhe, Anon, Camellia, 256, Sha1),
    s("ECDHE-ECDSA-AES128-SHA", Tls10, Ecdhe, Ecdsa, Aes, 128, Sha1),
    s("ECDHE-RSA-AES128-SHA", Tls10, Ecdhe, Au::Rsa, Aes, 128, Sha1),
    s("DHE-RSA-AES128-SHA", Ssl3, Dhe, Au::Rsa, Aes, 128, Sha1),
    s("DHE-DSS-AES128-SHA", Ssl3, Dhe, Dss, Aes, 128, Sha1),
    s("DHE-RSA-CAMELLIA128-SHA", Ssl3, Dhe, Au::Rsa, Camellia, 128, Sha1),
    s("DHE-DSS-CAMELLIA128-SHA", Ssl3, Dhe, Dss, Camellia, 128, Sha1),
    s("AECDH-AES128-SHA", Tls10, Ecdhe, Anon, Aes, 128, Sha1),
    s("ADH-AES128-SHA", Ssl3, Dhe, Anon, Aes, 128, Sha1),
    s("ADH-CAMELLIA128-SHA", Ssl3, Dhe, Anon, Camellia, 128, Sha1),
    s("RSA-PSK-AES256-GCM-SHA384", Tls12, RsaPsk, Au::Rsa, AesGcm, 256, Aead),
    s("DHE-PSK-AES256-GCM-SHA384", Tls12, DhePsk, Au::Psk, AesGcm, 256, Aead),
    s("RSA-PSK-CHACHA20-POLY1305", Tls12, RsaPsk, Au::Rsa, Chacha20, 256, Aead),
    s("DHE-PSK-CHACHA20-POLY1305", Tls12, DhePsk, Au::Psk, Chacha20, 256, Aead),
    s("ECDHE-PSK-CHACHA20-POLY1305", Tls12, EcdhePsk, Au::Psk, Chacha20, 256, Aead),
    s("DHE-PSK-AES256-CCM8", Tls12, DhePsk, Au::Psk, AesCcm8, 256, Aead),
    s("DHE-PSK-AES256-CCM", Tls12, DhePsk, Au::Psk, AesCcm, 256, Aead),
    s("RSA-PSK-ARIA256-GCM-SHA384", Tls12, RsaPsk, Au::Rsa, AriaGcm, 256, Aead),
    s("DHE-PSK-ARIA256-GCM-SHA384", Tls12, DhePsk, Au::Psk, AriaGcm, 256, Aead),
    s("AES256-GCM-SHA384", Tls12, Kx::Rsa, Au::Rsa, AesGcm, 256, Aead),
    s("AES256-CCM8", Tls12, Kx::Rsa, Au::Rsa, AesCcm8, 256, Aead),
    s("AES256-CCM", Tls12, Kx::Rsa, Au::Rsa, AesCcm, 256, Aead),
    s("ARIA256-GCM-SHA384", Tls12, Kx::Rsa, Au::Rsa, AriaGcm, 256, Aead),
    s("PSK-AES256-GCM-SHA384", Tls12, Kx::Psk, Au::Psk, AesGcm, 256, Aead),
    s("PSK-CHACHA20-POLY1305", Tls12, Kx::Psk, Au::Psk, Chacha20, 256, Aead),
    s("PSK-AES256-CCM8", Tls12, Kx::Psk, Au::Psk, AesCcm8, 256, Aead),
    s("PSK-AES256-CCM", Tls12, Kx::Psk, Au::Psk, AesCcm, 256, Aead),
    s("PSK-ARIA256-GCM-SHA384", Tls12, Kx::Psk, Au::Psk, AriaGcm, 256, Aead),
    s("RSA-PSK-AES128-GCM-SHA256", Tls12, RsaPsk, Au::Rsa, AesGcm, 128, Aead),
    s("DHE-PSK-AES128-GCM-SHA256", Tls12, DhePsk, Au::Psk, AesGcm, 128, Aead),
    s("DHE-PSK-AES128-CCM8", Tls12, DhePsk, Au::Psk, AesCcm8, 128, Aead),
    s("DHE-PSK-AES128-CCM", Tls12, DhePsk, Au::Psk, AesCcm, 128, Aead),
    s("RSA-PSK-ARIA128-GCM-SHA256", Tls12, RsaPsk, Au::Rsa, AriaGcm, 128, Aead),
    s("DHE-PSK-ARIA128-GCM-SHA256", Tls12, DhePsk, Au::Psk, AriaGcm, 128, Aead),
    s("AES128-GCM-SHA256", Tls12, Kx::Rsa, Au::Rsa, AesGcm, 128, Aead),
    s("AES128-CCM8", Tls12, Kx::Rsa, Au::Rsa, AesCcm8, 128, Aead),
    s("AES128-CCM", Tls12, Kx::Rsa, Au::Rsa, AesCcm, 128, Aead),
    s("ARIA128-GCM-SHA256", Tls12, Kx::Rsa, Au::Rsa, AriaGcm, 128, Aead),
    s("PSK-AES128-GCM-SHA256", Tls12, Kx::Psk, Au::Psk, AesGcm, 128, Aead),
    s("PSK-AES128-CCM8", Tls12, Kx::Psk, Au::Psk, AesCcm8, 128, Aead),
    s("PSK-AES128-CCM", Tls12, Kx::Psk, Au::Psk, AesCcm, 128, Aead),
    s("PSK-ARIA128-GCM-SHA256", Tls12, Kx::Psk, Au::Psk, AriaGcm, 128, Aead),
    s("AES256-SHA256", Tls12, Kx::Rsa, Au::Rsa, Aes, 256, Sha256),
    s("CAMELLIA256-SHA256", Tls12, Kx::Rsa, Au::Rsa, Camellia, 256, Sha256),
    s("AES128-SHA256", Tls12, Kx::Rsa, Au::Rsa, Aes, 128, Sha256),
    s("CAMELLIA128-SHA256", Tls12, Kx::Rsa, Au::Rsa, Camellia, 128, Sha256),
    s("ECDHE-PSK-AES256-CBC-SHA384", Tls10, EcdhePsk, Au::Psk, Aes, 256, Sha384),
    s("ECDHE-PSK-AES256-CBC-SHA", Tls10, EcdhePsk, Au::Psk, Aes, 256, Sha1),
    s("SRP-DSS-AES-256-CBC-SHA", Ssl3, Kx::Srp, Dss, Aes, 256, Sha1),
    s("SRP-RSA-AES-256-CBC-SHA", Ssl3, Kx::Srp, Au::Rsa, Aes, 256, Sha1),
    s("SRP-AES-256-CBC-SHA", Ssl3, Kx::Srp, Au::Srp, Aes, 256, Sha1),
    s("RSA-PSK-AES256-CBC-SHA384", Tls10, RsaPsk, Au::Rsa, Aes, 256, Sha384),
    s("DHE-PSK-AES256-CBC-SHA384", Tls10, DhePsk, Au::Psk, Aes, 256, Sha384),
    s("RSA-PSK-AES256-CBC-SHA", Ssl3, RsaPsk, Au::Rsa, Aes, 256, Sha1),
    s("DHE-PSK-AES256-CBC-SHA", Ssl3, DhePsk, Au::Psk, Aes, 256, Sha1),
    s("ECDHE-PSK-CAMELLIA256-SHA384", Tls10, EcdhePsk, Au::Psk, Camellia, 256, Sha384),
    s("RSA-PSK-CAMELLIA256-SHA384", Tls10, RsaPsk, Au::Rsa, Camellia, 256, Sha384),
    s("DHE-PSK-CAMELLIA256-SHA384", Tls10, DhePsk, Au::Psk, Camellia, 256, Sha384),
    s("AES256-SHA", Ssl3, Kx::Rsa, Au::Rsa, Aes, 256, Sha1),
    s("CAMELLIA256-SHA", Ssl3, Kx::Rsa, Au::Rsa, Camellia, 256, Sha1),
    s("PSK-AES256-CBC-SHA384", Tls10, Kx::Psk, Au::Psk, Aes, 256, Sha384),
    s("PSK-AES256-CBC-SHA", Ssl3, Kx::Psk, Au::Psk, Aes, 256, Sha1),
    s("PSK-CAMELLIA256-SHA384", Tls10, Kx::Psk, Au::Psk, Camellia, 256, Sha384),
    s("ECDHE-PSK-AES128-CBC-SHA256", Tls10, EcdhePsk, Au::Psk, Aes, 128, Sha256),
    s("ECDHE-PSK-AES128-CBC-SHA", Tls10, EcdhePsk, Au::Psk, Aes, 128, Sha1),
    s("SRP-DSS-AES-128-CBC-SHA", Ssl3, Kx::Srp, Dss, Aes, 128, Sha1),
    s("SRP-RSA-AES-128-CBC-SHA", Ssl3, Kx::Srp, Au::Rsa, Aes, 128, Sha1),
    s("SRP-AES-128-CBC-SHA", Ssl3, Kx::Srp, Au::Srp, Aes, 128, Sha1),
    s("RSA-PSK-AES128-CBC-SHA256", Tls10, RsaPsk, Au::Rsa, Aes, 128, Sha256),
    s("DHE-PSK-AES128-CBC-SHA256", Tls10, DhePsk, Au::Psk, Aes, 128, Sha256),
    s("RSA-PSK-AES128-CBC-SHA", Ssl3, RsaPsk, Au::Rsa, Aes, 128, Sha1),
    s("DHE-PSK-AES128-CBC-SHA", Ssl3, DhePsk, Au::Psk, Aes, 128, Sha1),
    s("ECDHE-PSK-CAMELLIA128-SHA256", Tls10, EcdhePsk, Au::Psk, Camellia, 128, Sha256),
    s("RSA-PSK-CAMELLIA128-SHA256", Tls10, RsaPsk, Au::Rsa, Camellia, 128, Sha256),
    s("DHE-PSK-CAMELLIA128-SHA256", Tls10, DhePsk, Au::Psk, Camellia, 128, Sha256),
    s("AES128-SHA", Ssl3, Kx::Rsa, Au::Rsa, Aes, 128, Sha1),
    s("CAMELLIA128-SHA", Ssl3, Kx::Rsa, Au::Rsa, Camellia, 128, Sha1),
    s("PSK-AES128-CBC-SHA256", Tls10, Kx::Psk, Au::Psk, Aes, 128, Sha256),
    s("PSK-AES128-CBC-SHA", Ssl3, Kx::Psk, Au::Psk, Aes, 128, Sha1),
    s("PSK-CAMELLIA128-SHA256", Tls10, Kx::Psk, Au::Psk, Camellia, 128, Sha256),
    s("ECDHE-ECDSA-NULL-SHA", Tls10, Ecdhe, Ecdsa, Null, 0, Sha1),
    s("ECDHE-RSA-NULL-SHA", Tls10, Ecdhe, Au::Rsa, Null, 0, Sha1),
    s("AECDH-NULL-SHA", Tls10, Ecdhe, Anon, Null, 0, Sha1),
    s("NULL-SHA256", Tls12, Kx::Rsa, Au::Rsa, Null, 0, Sha256),
    s("ECDHE-PSK-NULL-SHA384", Tls10, EcdhePsk, Au::Psk, Null, 0, Sha384),
    s("ECDHE-PSK-NULL-SHA256", Tls10, EcdhePsk, Au::Psk, Null, 0, Sha256),
    s("ECDHE-PSK-NULL-SHA", Tls10, EcdhePsk, Au::Psk, Null, 0, Sha1),
    s("RSA-PSK-NULL-SHA384", Tls10, RsaPsk, Au::Rsa, Null, 0, Sha384),
    s("RSA-PSK-NULL-SHA256", Tls10, RsaPsk, Au::Rsa, Null, 0, Sha256),
    s("DHE-PSK-NULL-SHA384", Tls10, DhePsk, Au::Psk, Null, 0, Sha384),
    s("DHE-PSK-NULL-SHA256", Tls10, DhePsk, Au::Psk, Null, 0, Sha256),
    s("RSA-PSK-NULL-SHA", Ssl3, RsaPsk, Au::Rsa, Null, 0, Sha1),
    s("DHE-PSK-NULL-SHA", Ssl3, DhePsk, Au::Psk, Null, 0, Sha1),
    s("NULL-SHA", Ssl3, Kx::Rsa, Au::Rsa, Null, 0, Sha1),
    s("NULL-MD5", Ssl3, Kx::Rsa, Au::Rsa, Null, 0, Md5),
    s("PSK-NULL-SHA384", Tls10, Kx::Psk, Au::Psk, Null, 0, Sha384),
    s("PSK-NULL-SHA256", Tls10, Kx::Psk, Au::Psk, Null, 0, Sha256),
    s("PSK-NULL-SHA", Ssl3, Kx::Psk, Au::Psk, Null, 0, Sha1),
    // Legacy suites: OpenSSL 1.x only.
    legacy("DES-CBC3-SHA", Ssl3, Kx::Rsa, Au::Rsa, Enc::TripleDes, 168, Sha1, false),
    legacy("ECDHE-RSA-DES-CBC3-SHA", Tls10, Ecdhe, Au::Rsa, Enc::TripleDes, 168, Sha1, false),
    legacy("ECDHE-ECDSA-DES-CBC3-SHA", Tls10, Ecdhe, Ecdsa, Enc::TripleDes, 168, Sha1, false),
    legacy("EDH-RSA-DES-CBC3-SHA", Ssl3, Dhe, Au::Rsa, Enc::TripleDes, 168, Sha1, false),
    legacy("DHE-RSA-DES-CBC3-SHA", Ssl3, Dhe, Au::Rsa, Enc::TripleDes, 168, Sha1, false),
    legacy("EDH-DSS-DES-CBC3-SHA", Ssl3, Dhe, Dss, Enc::TripleDes, 168, Sha1, false),
    legacy("DHE-DSS-DES-CBC3-SHA", Ssl3, Dhe, Dss, Enc::TripleDes, 168, Sha1, false),
    legacy("ADH-DES-CBC3-SHA", Ssl3, Dhe, Anon, Enc::TripleDes, 168, Sha1, false),
    legacy("AECDH-DES-CBC3-SHA", Tls10, Ecdhe, Anon, Enc::TripleDes, 168, Sha1, false),
    legacy("PSK-3DES-EDE-CBC-SHA", Ssl3, Kx::Psk, Au::Psk, Enc::TripleDes, 168, Sha1, false),
    legacy("RC4-SHA", Ssl3, Kx::Rsa, Au::Rsa, Enc::Rc4, 128, Sha1, false),
    legacy("RC4-MD5", Ssl3, Kx::Rsa, Au::Rsa, Enc::Rc4, 128, Md5, false),
    legacy("ECDHE-RSA-RC4-SHA", Tls10, Ecdhe, Au::Rsa, Enc::Rc4, 128, Sha1, false),
    legacy("ECDHE-ECDSA-RC4-SHA", Tls10, Ecdhe, Ecdsa, Enc::Rc4, 128, Sha1, false),
    legacy("ADH-RC4-MD5", Ssl3, Dhe, Anon, Enc::Rc4, 128, Md5, false),
    legacy("AECDH-RC4-SHA", Tls10, Ecdhe, Anon, Enc::Rc4, 128, Sha1, false),
    legacy("PSK-RC4-SHA", Ssl3, Kx::Psk, Au::Psk, Enc::Rc4, 128, Sha1, false),
    legacy("DES-CBC-SHA", Ssl3, Kx::Rsa, Au::Rsa, Enc::Des, 56, Sha1, false),
    legacy("EDH-RSA-DES-CBC-SHA", Ssl3, Dhe, Au::Rsa, Enc::Des, 56, Sha1, false),
    legacy("EDH-DSS-DES-CBC-SHA", Ssl3, Dhe, Dss, Enc::Des, 56, Sha1, false),
    legacy("ADH-DES-CBC-SHA", Ssl3, Dhe, Anon, Enc::Des, 56, Sha1, false),
    legacy("EXP-RC4-MD5", Ssl3, Kx::Rsa, Au::Rsa, Enc::Rc4, 40, Md5, true),
    legacy("EXP-RC2-CBC-MD5", Ssl3, Kx::Rsa, Au::Rsa, Enc::Rc2, 40, Md5, true),
    legacy("EXP-DES-CBC-SHA", Ssl3, Kx::Rsa, Au::Rsa, Enc::Des, 40, Sha1, true),
    legacy("EXP-EDH-RSA-DES-CBC-SHA", Ssl3, Dhe, Au::Rsa, Enc::Des, 40, Sha1, true),
    legacy("EXP-EDH-DSS-DES-CBC-SHA", Ssl3, Dhe, Dss, Enc::Des, 40, Sha1, true),
    legacy("EXP-ADH-DES-CBC-SHA", Ssl3, Dhe, Anon, Enc::Des, 40, Sha1, true),
    legacy("EXP-ADH-RC4-MD5", Ssl3, Dhe, Anon, Enc::Rc4, 40, Md5, true),
    legacy("IDEA-CBC-SHA", Ssl3, Kx::Rsa, Au::Rsa, Enc::Idea, 128, Sha1, false),
    legacy("SEED-SHA", Ssl3, Kx::Rsa, Au::Rsa, Enc::Seed, 128, Sha1, false),
    legacy("DHE-RSA-SEED-SHA", Ssl3, Dhe, Au::Rsa, Enc::Seed, 128, Sha1, false),
    legacy("DHE-DSS-SEED-SHA", Ssl3, Dhe, Dss, Enc::Seed, 128, Sha1, false),
    legacy("ADH-SEED-SHA", Ssl3, Dhe, Anon, Enc::Seed, 128, Sha1, false),
];

/// Looks a TLS <= 1.2 suite up by its OpenSSL name.
pub fn suite(name: &str) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.name == name)
}

/// Whether `name` is a TLS 1.3 suite name (`TLS_AES_256_GCM_SHA384`).
pub fn is_tls13(name: &str) -> bool {
    TLS13_SUITES.contains(&name)
}

/// Splits an OpenSSL cipher string into its entries (`:`, `,` and spaces separate them).
pub fn split(list: &str) -> Vec<String> {
    list.split([':', ',', ' ', '\t'])
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `s` is matched by the OpenSSL keyword `word`; None when `word`
/// is not a keyword.
fn keyword(word: &str, s: &Suite) -> Option<bool> {
    use Enc as E;
    let modern = !s.legacy;
    let aes = matches!(s.enc, E::Aes | E::AesGcm | E::AesCcm | E::AesCcm8);
    let anon = s.au == Anon;
    let dh = matches!(s.kx, Kx::Dhe);
    let ecdh = matches!(s.kx, Kx::Ecdhe);
    let psk = matches!(s.kx, Kx::Psk | Kx::RsaPsk | Kx::DhePsk | Kx::EcdhePsk);
    // OpenSSL 3.0's `DEFAULT`: no NULL, anonymous, DSS, CCM, ARIA or Camellia suites.
    let default = modern
        && !matches!(s.enc, Null | AesCcm | AesCcm8 | AriaGcm | Camellia)
        && !matches!(s.au, Anon | Dss);
    Some(match word {
        "ALL" => modern && s.enc != Null,
        "COMPLEMENTOFALL" | "eNULL" | "NULL" => s.enc == Null,
        "DEFAULT" => default,
        "COMPLEMENTOFDEFAULT" => modern && s.enc != Null && !default,
        "HIGH" => {
            modern
                && matches!(
                    s.enc,
                    E::Aes
                        | E::AesGcm
                        | E::AesCcm
                        | E::AesCcm8
                        | E::Chacha20
                        | E::AriaGcm
                        | E::Camellia
                )
        }
        "MEDIUM" => matches!(s.enc, E::Rc4 | E::TripleDes | E::Idea | E::Seed) && !s.export,
        "LOW" => matches!(s.enc, E::Des) && !s.export,
        "EXP" | "EXPORT" => s.export,
        "EXPORT40" => s.export && s.bits == 40,
        "EXPORT56" => s.export && s.bits == 56,
        "aNULL" => anon,
        "kRSA" | "RSA" => modern && s.kx == Kx::Rsa,
        "aRSA" => modern && s.au == Au::Rsa,
        "kDHE" | "kEDH" | "DH" => modern && dh,
        "DHE" | "EDH" => modern && dh && !anon,
        "ADH" => modern && dh && anon,
        "kECDHE" | "kEECDH" | "ECDH" => modern && ecdh,
        "ECDHE" | "EECDH" => modern && ecdh && !anon,
        "AECDH" => modern && ecdh && anon,
        "aDSS" | "DSS" => modern && s.au == Dss,
        "aECDSA" | "ECDSA" => modern && s.au == Ecdsa,
        "PSK" => modern && psk,
        "kPSK" => modern && s.kx == Kx::Psk,
        "kRSAPSK" => modern && s.kx == RsaPsk,
        "kDHEPSK" => modern && s.kx == DhePsk,
        "kECDHEPSK" => modern && s.kx == EcdhePsk,
        "aPSK" => modern && s.au == Au::Psk,
        "SRP" | "kSRP" => modern && s.kx == Kx::Srp,
        "aSRP" => modern && s.au == Au::Srp,
        "TLSv1.2" => modern && s.proto == Tls12,
        "TLSv1" | "TLSv1.0" => modern && s.proto == Tls10,
        "SSLv3" => modern && s.proto == Ssl3,
        "SSLv2" => false,
        "AES" => modern && aes,
        "AES128" => modern && aes && s.bits == 128,
        "AES256" => modern && aes && s.bits == 256,
        "AESGCM" => s.enc == AesGcm,
        "AESCCM" => matches!(s.enc, AesCcm | AesCcm8),
        "AESCCM8" => s.enc == AesCcm8,
        "ARIA" | "ARIAGCM" => s.enc == AriaGcm,
        "ARIA128" => s.enc == AriaGcm && s.bits == 128,
        "ARIA256" => s.enc == AriaGcm && s.bits == 256,
        "CAMELLIA" => s.enc == Camellia,
        "CAMELLIA128" => s.enc == Camellia && s.bits == 128,
        "CAMELLIA256" => s.enc == Camellia && s.bits == 256,
        "CHACHA20" => s.enc == Chacha20,
        "3DES" => s.enc == E::TripleDes,
        "DES" => s.enc == E::Des,
        "RC4" => s.enc == E::Rc4,
        "RC2" => s.enc == E::Rc2,
        "IDEA" => s.enc == E::Idea,
        "SEED" => s.enc == E::Seed,
        "MD5" => s.mac == Md5,
        "SHA1" | "SHA" => modern && s.mac == Sha1,
        "SHA256" => modern && s.mac == Sha256,
        "SHA384" => modern && s.mac == Sha384,
        "SUITEB128" | "SUITEB128C2" | "SUITEB192" | "SUITEB128ONLY" => {
            s.kx == Ecdhe
                && s.au == Ecdsa
                && s.enc == AesGcm
                && (word != "SUITEB192" || s.bits == 256)
                && (word != "SUITEB128ONLY" || s.bits == 128)
        }
        _ => return None,
    })
}

/// What one entry of a cipher string is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A suite name or keyword combination OpenSSL understands.
    Known,
    /// A TLS 1.3 suite name, which a TLS <= 1.2 list ignores.
    Tls13,
    /// Neither a suite nor a keyword: OpenSSL ignores it.
    Unknown,
    /// `@STRENGTH`, `@SECLEVEL=n`.
    Directive,
}

/// The suites a cipher string selects, as OpenSSL would.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Each selected suite and the entry (index) that added it.
    pub suites: Vec<(&'static Suite, usize)>,
    /// What each entry is.
    pub kinds: Vec<EntryKind>,
}

impl Selection {
    pub fn entries_of(&self, kind: EntryKind) -> impl Iterator<Item = usize> + '_ {
        self.kinds
            .iter()
            .enumerate()
            .filter(move |(_, k)| **k == kind)
            .map(|(i, _)| i)
    }
}

/// Does the term (`ECDHE+AESGCM`, `kRSA`, `AES128-SHA`) match `s`? None
/// when a part is neither a suite name nor a keyword.
fn term_matches(term: &str, s: &Suite) -> Option<bool> {
    if let Some(named) = suite(term) {
        return Some(named.name == s.name);
    }
    let mut all = true;
    for part in term.split('+') {
        all &= keyword(part, s)?;
    }
    Some(all)
}

/// Evaluates the entries of a cipher string with OpenSSL's rules: plain
/// entries add suites, `-X` removes them (they may come back), `!X` removes
/// them for good, `+X` only reorders, `@...` are directives.
pub fn evaluate(entries: &[String]) -> Selection {
    let mut sel = Selection::default();
    let mut banned: Vec<&'static str> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let (op, term) = match entry.chars().next() {
            Some(c @ ('!' | '-' | '+')) => (c, &entry[1..]),
            Some('@') => {
                sel.kinds.push(EntryKind::Directive);
                continue;
            }
            _ => (' ', entry.as_str()),
        };
        if is_tls13(term) {
            sel.kinds.push(EntryKind::Tls13);
            continue;
        }
        if term.is_empty() || term_matches(term, &SUITES[0]).is_none() {
            sel.kinds.push(EntryKind::Unknown);
            continue;
        }
        sel.kinds.push(EntryKind::Known);
        let matching = SUITES
            .iter()
            .filter(|s| term_matches(term, s) == Some(true));
        for s in matching {
            match op {
                '!' => {
                    banned.push(s.name);
                    sel.suites.retain(|(x, _)| x.name != s.name);
                }
                '-' => sel.suites.retain(|(x, _)| x.name != s.name),
                '+' => {}
                _ => {
                    if !banned.contains(&s.name)
                        && !sel.suites.iter().any(|(x, _)| x.name == s.name)
                    {
                        sel.suites.push((s, i));
                    }
                }
            }
        }
    }
    sel
}

/// Why a suite is weak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weakness {
    Export,
    NullCipher,
    Anonymous,
    Rc4,
    Des,
    TripleDes,
    Rc2,
    Idea,
    Md5,
    /// Static RSA, PSK or SRP key exchange.
    NoForwardSecrecy,
    /// A CBC-mode block cipher with a separate MAC.
    Cbc,
}

impl Weakness {
    pub fn describe(self) -> &'static str {
        match self {
            Weakness::Export => "export-grade",
            Weakness::NullCipher => "no encryption (NULL)",
            Weakness::Anonymous => "anonymous, unauthenticated key exchange",
            Weakness::Rc4 => "RC4",
            Weakness::Des => "single DES",
            Weakness::TripleDes => "3DES with 64-bit blocks (Sweet32)",
            Weakness::Rc2 => "RC2",
            Weakness::Idea => "IDEA (64-bit blocks)",
            Weakness::Md5 => "MD5 MAC",
            Weakness::NoForwardSecrecy => "static key exchange, no forward secrecy",
            Weakness::Cbc => "CBC mode, not AEAD",
        }
    }

    /// How the weakness shows in `s` ("static RSA key exchange, no forward secrecy").
    pub fn describe_in(self, s: &Suite) -> String {
        match (self, s.kx) {
            (Weakness::NoForwardSecrecy, Kx::Rsa) => {
                "static RSA key exchange, no forward secrecy".into()
            }
            (Weakness::NoForwardSecrecy, Kx::Psk | Kx::RsaPsk) => {
                "static PSK key exchange, no forward secrecy".into()
            }
            (Weakness::NoForwardSecrecy, Kx::Srp) => "SRP key exchange, no forward secrecy".into(),
            _ => self.describe().into(),
        }
    }

    /// Broken outright (as opposed to merely lacking forward secrecy or AEAD).
    pub fn broken(self) -> bool {
        !matches!(self, Weakness::NoForwardSecrecy | Weakness::Cbc)
    }
}

/// Everything weak about a suite, most serious first (empty: ECDHE/DHE with AEAD).
pub fn weaknesses(s: &Suite) -> Vec<Weakness> {
    let mut w = Vec::new();
    if s.export {
        w.push(Weakness::Export);
    }
    match s.enc {
        Enc::Null => w.push(Weakness::NullCipher),
        Enc::Rc4 => w.push(Weakness::Rc4),
        Enc::Des => w.push(Weakness::Des),
        Enc::TripleDes => w.push(Weakness::TripleDes),
        Enc::Rc2 => w.push(Weakness::Rc2),
        Enc::Idea => w.push(Weakness::Idea),
        _ => {}
    }
    if s.au == Anon {
        w.push(Weakness::Anonymous);
    }
    if s.mac == Md5 {
        w.push(Weakness::Md5);
    }
    if matches!(s.kx, Kx::Rsa | Kx::Psk | Kx::RsaPsk | Kx::Srp) {
        w.push(Weakness::NoForwardSecrecy);
    }
    if s.mac != Aead && !matches!(s.enc, Enc::Null | Enc::Rc4) {
        w.push(Weakness::Cbc);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &str) -> Vec<&'static str> {
        evaluate(&split(list))
            .suites
            .iter()
            .map(|(s, _)| s.name)
            .collect()
    }

    #[test]
    fn the_table_has_unique_names() {
        for (i, s) in SUITES.iter().enumerate() {
            assert!(
                SUITES[i + 1..].iter().all(|o| o.name != s.name),
                "{}",
                s.name
            );
            assert!(!is_tls13(s.name));
        }
    }

    #[test]
    fn names_select_themselves() {
        assert_eq!(
            names("ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA"),
            ["ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA"]
        );
    }

    #[test]
    fn exclusions_and_combinations_follow_openssl() {
        let aead_fs = names("ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL");
        assert!(!aead_fs.is_empty());
        assert!(
            aead_fs
                .iter()
                .all(|n| weaknesses(suite(n).unwrap()).is_empty()),
            "{aead_fs:?}"
        );
        assert!(names("HIGH:!kRSA:!SHA1:!SHA256:!SHA384:!aNULL:!PSK:!SRP")
            .iter()
            .all(|n| weaknesses(suite(n).unwrap()).is_empty()));
        // `-` removes, a later entry may add back; `!` removes for good.
        assert_eq!(names("AES128-SHA:-AES128-SHA:AES128-SHA"), ["AES128-SHA"]);
        assert!(names("!AES128-SHA:AES128-SHA").is_empty());
    }

    #[test]
    fn mosquittos_default_list_allows_rsa_key_exchange_and_cbc() {
        let sel = names("DEFAULT:!aNULL:!eNULL:!LOW:!EXPORT:!SSLv2:@STRENGTH");
        assert!(sel.contains(&"AES128-SHA"));
        assert!(sel.contains(&"ECDHE-ECDSA-AES128-GCM-SHA256"));
        assert!(!sel
            .iter()
            .any(|n| n.starts_with("ADH-") || n.contains("NULL")));
        // As `openssl ciphers` of OpenSSL 3.0, TLS 1.3 suites aside.
        assert_eq!(sel.len(), 57);
        assert_eq!(names("ALL").len(), 137);
        assert_eq!(names("HIGH:!aNULL").len(), 125);
        assert_eq!(names("COMPLEMENTOFDEFAULT").len(), 80);
        assert_eq!(names("kRSA").len(), 19);
        assert_eq!(names("ECDHE+AESGCM").len(), 4);
    }

    #[test]
    fn tls13_names_and_unknown_names_select_nothing() {
        let sel = evaluate(&split("TLS_AES_256_GCM_SHA384:NOT-A-SUITE:@SECLEVEL=2"));
        assert!(sel.suites.is_empty());
        assert_eq!(
            sel.kinds,
            [EntryKind::Tls13, EntryKind::Unknown, EntryKind::Directive]
        );
    }

    #[test]
    fn weaknesses_are_classified() {
        let w = |n: &str| weaknesses(suite(n).unwrap());
        assert_eq!(w("ECDHE-ECDSA-CHACHA20-POLY1305"), []);
        assert_eq!(w("AES128-GCM-SHA256"), [Weakness::NoForwardSecrecy]);
        assert_eq!(w("ECDHE-RSA-AES128-SHA256"), [Weakness::Cbc]);
        assert_eq!(w("AES256-SHA"), [Weakness::NoForwardSecrecy, Weakness::Cbc]);
        assert_eq!(
            w("RC4-MD5"),
            [Weakness::Rc4, Weakness::Md5, Weakness::NoForwardSecrecy]
        );
        assert_eq!(w("EXP-DES-CBC-SHA")[0], Weakness::Export);
        assert!(w("NULL-SHA").contains(&Weakness::NullCipher));
        assert!(w("ADH-AES128-GCM-SHA256").contains(&Weakness::Anonymous));
        assert!(w("DES-CBC3-SHA").contains(&Weakness::TripleDes));
    }

    #[test]
    fn garbage_does_not_panic() {
        for list in [
            "", ":::", "!", "-+", "+", "@", "ALL+", "+++HIGH", "é:ü", "!!ALL", "\u{0}",
        ] {
            let _ = evaluate(&split(list));
        }
    }
}
