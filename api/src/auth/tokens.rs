//! Keys derived from the server secret, one per purpose (HKDF-SHA256, domain-separated), and
//! the tokens made with them: access tokens (JWT, HS256 pinned, RFC 8725), opaque refresh and
//! e-mail tokens stored as keyed hashes, and keyed hashes of client addresses.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tumaini_db::audit_chain::EventKey;
use tumaini_db::ids::{ClientId, ClientSecretId, SessionId, UserId};
use tumaini_db::models::SecretToStore;
use zeroize::Zeroizing;

use crate::config::SecretKey;

/// `iss` of every access token.
pub const ISSUER: &str = "tumaini";
/// `aud` of every access token.
pub const AUDIENCE: &str = "tumaini-api";
/// The prefix of every client secret, for secret scanners.
pub const CLIENT_SECRET_PREFIX: &str = "tumaini_cs_";

/// The lookup id a client secret carries (`tumaini_cs_<lookup id>_<random>`), if it has the
/// form of one.
pub fn client_secret_lookup(secret: &str) -> Option<ClientSecretId> {
    let rest = secret.strip_prefix(CLIENT_SECRET_PREFIX)?;
    let (lookup, random) = rest.split_once('_')?;
    if lookup.len() != 32 || random.is_empty() {
        return None;
    }
    lookup.parse().ok()
}

/// The JOSE `typ` of access tokens (RFC 9068), checked so no other JWT passes for one.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The claims of an access token. It names a session; everything else about the user (role,
/// organisation, status) is read from the database on each request, never trusted from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// The session's id.
    pub sid: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires.
    pub exp: i64,
    /// Token id.
    pub jti: String,
    /// A machine client's token: the client's id (then `sub` is the client's id too and `sid`
    /// is empty). A person's token has none, so neither passes for the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// A machine client's token: the scopes granted to it, space-separated (RFC 6749 §3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Why an access token was refused. Never shown in detail to the caller.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefused {
    /// Not a JWT of our type.
    #[error("wrong token type")]
    WrongType,
    /// Bad signature, algorithm, time or claims.
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

/// The per-purpose keys.
pub struct Keys {
    access_encoding: EncodingKey,
    access_decoding: DecodingKey,
    validation: Validation,
    token_hash_key: Zeroizing<[u8; 32]>,
    client_hash_key: Zeroizing<[u8; 32]>,
    totp_seal_key: Zeroizing<[u8; 32]>,
    request_hash_key: Zeroizing<[u8; 32]>,
    cursor_key: Zeroizing<[u8; 32]>,
    client_secret_key: Zeroizing<[u8; 32]>,
    audit_events: Option<EventKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

fn derive(hkdf: &Hkdf<Sha256>, purpose: &str) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's output limit; the expansion cannot fail.
    let _ = hkdf.expand(purpose.as_bytes(), &mut *key);
    key
}

type HmacSha256 = Hmac<Sha256>;

fn keyed_hash(key: &[u8; 32], input: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(input);
    mac.finalize().into_bytes().into()
}

impl Keys {
    /// Derives every key from the server secret.
    pub fn derive(secret: &SecretKey) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(b"tumaini/v1"), secret.expose());
        let access = derive(&hkdf, "access-token/hs256");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            access_encoding: EncodingKey::from_secret(&*access),
            access_decoding: DecodingKey::from_secret(&*access),
            validation,
            token_hash_key: derive(&hkdf, "opaque-token/hmac"),
            client_hash_key: derive(&hkdf, "client-address/hmac"),
            totp_seal_key: derive(&hkdf, "totp-secret/xchacha20poly1305"),
            request_hash_key: derive(&hkdf, "idempotent-request/hmac"),
            cursor_key: derive(&hkdf, "cursor/hmac"),
            client_secret_key: derive(&hkdf, "client-secret/hmac"),
            audit_events: None,
        }
    }

    /// The same keys with the audit trail's event key (derived from the audit key, not from
    /// the server secret), which every request's audit events are authenticated with.
    pub fn with_audit_events(mut self, key: EventKey) -> Self {
        self.audit_events = Some(key);
        self
    }

    /// The audit trail's event key, when set.
    pub fn audit_events(&self) -> Option<&EventKey> {
        self.audit_events.as_ref()
    }

    /// Signs an access token for a session, valid for `ttl_secs` from now.
    pub fn issue_access(
        &self,
        user: &UserId,
        session: &SessionId,
        ttl_secs: i64,
    ) -> anyhow::Result<(String, AccessClaims)> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user.to_string(),
            sid: session.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
            jti: uuid::Uuid::now_v7().to_string(),
            cid: None,
            scope: None,
        };
        Ok((self.sign(&claims)?, claims))
    }

    /// Signs an access token for a machine client with the scopes granted, valid for
    /// `ttl_secs` from now. It names no session: each request checks the client itself.
    pub fn issue_client_access(
        &self,
        client: &ClientId,
        scope: &str,
        ttl_secs: i64,
    ) -> anyhow::Result<(String, AccessClaims)> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: client.to_string(),
            sid: String::new(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
            jti: uuid::Uuid::now_v7().to_string(),
            cid: Some(client.to_string()),
            scope: Some(scope.to_owned()),
        };
        Ok((self.sign(&claims)?, claims))
    }

    /// A new client secret, `tumaini_cs_<lookup id>_<256 random bits>`, and what to store:
    /// its lookup id and keyed hash. The fixed prefix lets secret scanners find a leaked one.
    pub fn new_client_secret(&self) -> (Zeroizing<String>, SecretToStore) {
        let id = ClientSecretId::generate();
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *bytes);
        let lookup = id.as_str().replace('-', "");
        let secret = Zeroizing::new(format!(
            "{CLIENT_SECRET_PREFIX}{lookup}_{}",
            URL_SAFE_NO_PAD.encode(*bytes)
        ));
        let hash = hex::encode(keyed_hash(&self.client_secret_key, secret.as_bytes()));
        (secret, SecretToStore { id, hash })
    }

    /// Whether `secret` is the one stored as `stored_hash` (compared in constant time).
    pub fn client_secret_matches(&self, secret: &str, stored_hash: &str) -> bool {
        let Ok(stored) = hex::decode(stored_hash) else {
            return false;
        };
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&*self.client_secret_key)
            .unwrap_or_else(|_| unreachable!());
        mac.update(secret.as_bytes());
        mac.verify_slice(&stored).is_ok()
    }

    /// Signs arbitrary access claims with the access-token key (tests use it to prove that
    /// expired, premature or misaddressed tokens are refused even when correctly signed).
    pub fn sign<C: Serialize>(&self, claims: &C) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        Ok(jsonwebtoken::encode(
            &header,
            claims,
            &self.access_encoding,
        )?)
    }

    /// Checks an access token: type, pinned algorithm, signature, issuer, audience, times.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenRefused> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) || header.alg != Algorithm::HS256 {
            return Err(TokenRefused::WrongType);
        }
        Ok(
            jsonwebtoken::decode::<AccessClaims>(token, &self.access_decoding, &self.validation)?
                .claims,
        )
    }

    /// A new opaque token (256 random bits, base64url) and the hash to store.
    pub fn new_opaque_token(&self) -> (Zeroizing<String>, String) {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *bytes);
        let token = Zeroizing::new(URL_SAFE_NO_PAD.encode(*bytes));
        let hash = self.hash_opaque_token(&token);
        (token, hash)
    }

    /// The stored form of an opaque token.
    pub fn hash_opaque_token(&self, token: &str) -> String {
        hex::encode(keyed_hash(&self.token_hash_key, token.as_bytes()))
    }

    /// A client address under a keyed hash: equal addresses compare equal, but the address
    /// cannot be read back or guessed without the server secret.
    pub fn client_hash(&self, address: &str) -> String {
        hex::encode(&keyed_hash(&self.client_hash_key, address.as_bytes())[..16])
    }

    /// What an idempotent request is remembered by: a keyed hash of its method, path and body,
    /// so the stored hash of a body with a name in it cannot be tested against guesses.
    pub fn request_hash(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&*self.request_hash_key)
            .unwrap_or_else(|_| unreachable!());
        for part in parts {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// Signs a pagination cursor: `payload.mac`, both base64url. A cursor the server did not
    /// issue (or one altered) does not verify.
    pub fn sign_cursor(&self, payload: &[u8]) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(keyed_hash(&self.cursor_key, payload))
        )
    }

    /// The payload of a cursor this server signed; `None` for anything else.
    pub fn open_cursor(&self, cursor: &str) -> Option<Vec<u8>> {
        let (payload, tag) = cursor.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&*self.cursor_key)
            .unwrap_or_else(|_| unreachable!());
        mac.update(&payload);
        mac.verify_slice(&tag).ok()?;
        Some(payload)
    }

    /// Seals a TOTP secret for storage, bound to its user.
    pub fn seal_totp_secret(&self, user: &UserId, secret: &[u8]) -> anyhow::Result<Vec<u8>> {
        let cipher = XChaCha20Poly1305::new((&*self.totp_seal_key).into());
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: user.as_str().as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Opens a sealed TOTP secret.
    pub fn open_totp_secret(
        &self,
        user: &UserId,
        sealed: &[u8],
    ) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < 24 + 16 {
            anyhow::bail!("sealed secret too short");
        }
        let (nonce, ciphertext) = sealed.split_at(24);
        let cipher = XChaCha20Poly1305::new((&*self.totp_seal_key).into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: user.as_str().as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| anyhow::anyhow!("sealed secret does not open"))
    }
}
