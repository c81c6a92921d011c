//! HTTP Digest access authentication (RFC 7616, compatible with RFC 2617 and RFC 2069): reading
//! `WWW-Authenticate` challenges and computing the `Authorization: Digest` answer.

use md5::Md5;
use sha2::{Digest as _, Sha256, Sha512_256};

use crate::host::effects::credentials::Authorization;
use crate::problem::{ErrorKind, WorkflowError};

/// One challenge of a `WWW-Authenticate` value: its scheme and auth-params (names lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Splits a `WWW-Authenticate` value into its challenges (RFC 7235 §4.1: several challenges may
/// share one header, separated by commas like their parameters). A `token68` is skipped.
pub(crate) fn parse_challenges(text: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            return challenges;
        }
        let (token, after) = split_token(rest);
        if token.is_empty() {
            // Not a token character: skip it rather than loop forever on garbage.
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
            continue;
        }
        let after_space = after.trim_start();
        match after_space.strip_prefix('=') {
            // `name=value`, unless it is the padding of a token68 (`abc==`).
            Some(value) if !value.starts_with('=') => {
                let (value, remaining) = read_value(value.trim_start());
                if let Some(challenge) = challenges.last_mut() {
                    challenge.params.push((token.to_ascii_lowercase(), value));
                }
                rest = remaining;
            }
            Some(padding) => rest = padding.trim_start_matches('='),
            None => {
                challenges.push(Challenge {
                    scheme: token.to_owned(),
                    params: Vec::new(),
                });
                rest = after;
            }
        }
    }
}

/// The longest prefix of RFC 7230 token characters (plus `/` so a token68 stays in one piece).
fn split_token(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c)))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// A quoted string (backslash escapes undone) or a bare token; returns it and what follows.
fn read_value(text: &str) -> (String, &str) {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text
            .find(|c: char| c == ',' || c.is_whitespace())
            .unwrap_or(text.len());
        let (value, rest) = text.split_at(end);
        return (value.to_owned(), rest);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[at + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            other => value.push(other),
        }
    }
    // An unterminated quote: take the rest as the value.
    (value, "")
}

/// A digest algorithm of RFC 7616 §3.2, with or without the session variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Hash {
    Md5,
    Sha256,
    Sha512_256,
}

impl Hash {
    fn hex(self, data: &str) -> String {
        let bytes = match self {
            Hash::Md5 => Md5::digest(data.as_bytes()).to_vec(),
            Hash::Sha256 => Sha256::digest(data.as_bytes()).to_vec(),
            Hash::Sha512_256 => Sha512_256::digest(data.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `algorithm` (absent means MD5): the hash and whether it is a `-sess` variant.
fn algorithm(name: Option<&str>) -> Option<(Hash, bool)> {
    let name = name.unwrap_or("MD5").to_ascii_uppercase();
    let (base, session) = match name.strip_suffix("-SESS") {
        Some(base) => (base.to_owned(), true),
        None => (name, false),
    };
    let hash = match base.as_str() {
        "MD5" => Hash::Md5,
        "SHA-256" => Hash::Sha256,
        "SHA-512-256" => Hash::Sha512_256,
        _ => return None,
    };
    Some((hash, session))
}

/// What one request needs to answer a digest challenge.
pub(crate) struct DigestRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    /// The request target (path and query), as sent.
    pub uri: &'a str,
    /// The client nonce; random in real use, fixed in tests.
    pub cnonce: &'a str,
}

/// Answers the strongest digest challenge of a `WWW-Authenticate` value this client supports.
/// Every answer uses `nc=00000001`: each one carries a fresh client nonce.
pub(crate) fn answer(
    header: &str,
    request: &DigestRequest,
) -> Result<Authorization, WorkflowError> {
    let challenges = parse_challenges(header);
    let digests: Vec<&Challenge> = challenges
        .iter()
        .filter(|c| c.scheme.eq_ignore_ascii_case("digest"))
        .collect();
    if digests.is_empty() {
        let offered: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        return Err(failure(format!(
            "the server asked for {} authentication, not Digest",
            if offered.is_empty() {
                "no recognizable".to_owned()
            } else {
                format!("`{}`", offered.join("`, `"))
            }
        )));
    }
    let best = digests
        .iter()
        .filter_map(|c| algorithm(c.param("algorithm")).map(|alg| (alg, *c)))
        .max_by_key(|((hash, _), _)| *hash);
    let Some(((hash, session), challenge)) = best else {
        let offered: Vec<&str> = digests
            .iter()
            .map(|c| c.param("algorithm").unwrap_or("MD5"))
            .collect();
        return Err(failure(format!(
            "the server's digest challenge uses an unsupported algorithm ({}); supported: MD5, SHA-256, SHA-512-256 and their -sess variants",
            offered.join(", ")
        )));
    };
    respond(challenge, hash, session, request)
}

fn respond(
    challenge: &Challenge,
    hash: Hash,
    session: bool,
    request: &DigestRequest,
) -> Result<Authorization, WorkflowError> {
    let realm = challenge.param("realm").unwrap_or_default();
    let Some(nonce) = challenge.param("nonce") else {
        return Err(failure(
            "the server's digest challenge has no `nonce`".to_owned(),
        ));
    };
    // `qop` lists the protections offered; only `auth` is supported (`auth-int` would need the
    // request body). No `qop` at all is the RFC 2069 form.
    let qop = match challenge.param("qop") {
        None => None,
        Some(list) => {
            if list
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth"))
            {
                Some("auth")
            } else {
                return Err(failure(format!(
                    "the server's digest challenge offers only qop `{list}`; this runtime supports `auth`"
                )));
            }
        }
    };
    let nc = "00000001";
    let mut ha1 = hash.hex(&format!(
        "{}:{realm}:{}",
        request.username, request.password
    ));
    if session {
        ha1 = hash.hex(&format!("{ha1}:{nonce}:{}", request.cnonce));
    }
    let ha2 = hash.hex(&format!("{}:{}", request.method, request.uri));
    let response = match qop {
        Some(qop) => hash.hex(&format!(
            "{ha1}:{nonce}:{nc}:{}:{qop}:{ha2}",
            request.cnonce
        )),
        None => hash.hex(&format!("{ha1}:{nonce}:{ha2}")),
    };

    let userhash = challenge
        .param("userhash")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut parts = Vec::new();
    if userhash {
        let hashed = hash.hex(&format!("{}:{realm}", request.username));
        parts.push(format!("username={}", quote(&hashed)));
    } else if is_quotable(request.username) {
        parts.push(format!("username={}", quote(request.username)));
    } else {
        // RFC 7616 §3.4.4: a name a quoted string cannot carry goes in `username*`.
        parts.push(format!(
            "username*=UTF-8''{}",
            percent_encode(request.username)
        ));
    }
    parts.push(format!("realm={}", quote(realm)));
    parts.push(format!("uri={}", quote(request.uri)));
    if let Some(name) = challenge.param("algorithm") {
        parts.push(format!("algorithm={name}"));
    }
    parts.push(format!("nonce={}", quote(nonce)));
    if let Some(qop) = qop {
        parts.push(format!("nc={nc}"));
        parts.push(format!("cnonce={}", quote(request.cnonce)));
        parts.push(format!("qop={qop}"));
    } else if session {
        parts.push(format!("cnonce={}", quote(request.cnonce)));
    }
    parts.push(format!("response={}", quote(&response)));
    if let Some(opaque) = challenge.param("opaque") {
        parts.push(format!("opaque={}", quote(opaque)));
    }
    if userhash {
        parts.push("userhash=true".to_owned());
    }
    Ok(Authorization {
        scheme: "Digest".to_owned(),
        parameter: parts.join(", "),
    })
}

/// A fresh client nonce: 16 random bytes, hex.
pub(crate) fn client_nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_quotable(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
}

fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// RFC 5987 `value-chars`: attr-chars as is, every other byte as `%XX`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn failure(detail: String) -> WorkflowError {
    WorkflowError::new(ErrorKind::Authentication, "Digest authentication failed")
        .with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(authorization: &Authorization, name: &str) -> Option<String> {
        parse_challenges(&format!("Digest {}", authorization.parameter))
            .into_iter()
            .next()
            .and_then(|c| c.param(name).map(str::to_owned))
    }

    /// RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5.
    const RFC7616_CHALLENGE: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

    fn rfc7616_request() -> DigestRequest<'static> {
        DigestRequest {
            username: "Mufasa",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        }
    }

    #[test]
    fn rfc7616_example_prefers_sha256() {
        let authorization =
            answer(RFC7616_CHALLENGE, &rfc7616_request()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(authorization.scheme, "Digest");
        assert_eq!(
            param(&authorization, "response").as_deref(),
            Some("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
        );
        assert_eq!(
            param(&authorization, "algorithm").as_deref(),
            Some("SHA-256")
        );
        assert_eq!(param(&authorization, "nc").as_deref(), Some("00000001"));
        assert_eq!(param(&authorization, "qop").as_deref(), Some("auth"));
        assert_eq!(
            param(&authorization, "opaque").as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
        assert_eq!(param(&authorization, "username").as_deref(), Some("Mufasa"));
        assert_eq!(
            param(&authorization, "uri").as_deref(),
            Some("/dir/index.html")
        );
    }

    #[test]
    fn rfc7616_example_with_md5() {
        let md5_only = RFC7616_CHALLENGE.replace("algorithm=SHA-256", "algorithm=SHA-1");
        let authorization =
            answer(&md5_only, &rfc7616_request()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            param(&authorization, "response").as_deref(),
            Some("8ca523f5e9506fed4657c9700eebdbec")
        );
        assert_eq!(param(&authorization, "algorithm").as_deref(), Some("MD5"));
    }

    #[test]
    fn rfc2617_example() {
        let challenge = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let request = DigestRequest {
            username: "Mufasa",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            cnonce: "0a4f113b",
        };
        let authorization = answer(challenge, &request).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            param(&authorization, "response").as_deref(),
            Some("6629fae49393a05397450978507c4ef1")
        );
        // No `algorithm` in the challenge: none in the answer either (MD5 is implied).
        assert_eq!(param(&authorization, "algorithm"), None);
        assert_eq!(param(&authorization, "cnonce").as_deref(), Some("0a4f113b"));
    }

    #[test]
    fn rfc2069_form_without_qop() {
        let challenge = r#"Digest realm="r", nonce="n""#;
        let request = DigestRequest {
            username: "u",
            password: "p",
            method: "GET",
            uri: "/",
            cnonce: "c",
        };
        let authorization = answer(challenge, &request).unwrap_or_else(|e| panic!("{e:?}"));
        let ha1 = Hash::Md5.hex("u:r:p");
        let ha2 = Hash::Md5.hex("GET:/");
        let expected = Hash::Md5.hex(&format!("{ha1}:n:{ha2}"));
        assert_eq!(param(&authorization, "response"), Some(expected));
        assert_eq!(param(&authorization, "nc"), None);
        assert_eq!(param(&authorization, "qop"), None);
    }

    #[test]
    fn session_variants_hash_the_client_nonce_into_ha1() {
        let challenge = r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256-sess"#;
        let request = DigestRequest {
            username: "u",
            password: "p",
            method: "POST",
            uri: "/x?y=1",
            cnonce: "c",
        };
        let authorization = answer(challenge, &request).unwrap_or_else(|e| panic!("{e:?}"));
        let h = Hash::Sha256;
        let ha1 = h.hex(&format!("{}:n:c", h.hex("u:r:p")));
        let ha2 = h.hex("POST:/x?y=1");
        let expected = h.hex(&format!("{ha1}:n:00000001:c:auth:{ha2}"));
        assert_eq!(param(&authorization, "response"), Some(expected));
        assert_eq!(
            param(&authorization, "algorithm").as_deref(),
            Some("SHA-256-sess")
        );
    }

    #[test]
    fn userhash_and_unusual_usernames() {
        let request = DigestRequest {
            username: "J\u{e4}s\u{f8}n Doe",
            password: "Secret, or not?",
            method: "GET",
            uri: "/doe.json",
            cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
        };
        let plain = r#"Digest realm="api@example.org", qop=auth, algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK""#;
        let answer_plain = answer(plain, &request).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(
            answer_plain
                .parameter
                .starts_with("username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, "),
            "{}",
            answer_plain.parameter
        );
        // RFC 7616 §3.9.2: the hashed user name of this example.
        let hashed = format!("{plain}, userhash=true");
        let answer_hashed = answer(&hashed, &request).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            param(&answer_hashed, "username").as_deref(),
            Some("793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b")
        );
        assert_eq!(param(&answer_hashed, "userhash").as_deref(), Some("true"));
        // The response still hashes the real name (value computed independently).
        assert_eq!(
            param(&answer_hashed, "response").as_deref(),
            Some("3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5")
        );
        assert!(quote(r#"a"b\c"#) == r#""a\"b\\c""#);
    }

    #[test]
    fn unusable_challenges_are_authentication_errors() {
        let request = rfc7616_request();
        let cases = [
            ("Basic realm=\"x\"", "asked for `Basic` authentication"),
            ("", "no recognizable"),
            (
                "Digest realm=\"x\", nonce=\"n\", algorithm=SHA-1",
                "unsupported algorithm (SHA-1)",
            ),
            ("Digest realm=\"x\", qop=\"auth\"", "no `nonce`"),
            (
                "Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\"",
                "offers only qop `auth-int`",
            ),
        ];
        for (challenge, expected) in cases {
            let error = match answer(challenge, &request) {
                Err(error) => error,
                Ok(ok) => panic!("{challenge}: expected an error, got {ok:?}"),
            };
            assert_eq!(error.status, 401);
            assert!(error.type_.ends_with("/authentication"));
            let detail = error.detail.unwrap_or_default();
            assert!(detail.contains(expected), "{challenge}: {detail}");
        }
    }

    #[test]
    fn challenge_lists_split_into_schemes_and_params() {
        let parsed = parse_challenges(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Bearer abc123==, Digest nonce=x"#,
        );
        let schemes: Vec<&str> = parsed.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Newauth", "Basic", "Bearer", "Digest"]);
        assert_eq!(parsed[0].param("title"), Some("Login to \"apps\""));
        assert_eq!(parsed[0].param("type"), Some("1"));
        assert_eq!(parsed[1].param("realm"), Some("simple"));
        assert!(parsed[2].params.is_empty());
        assert_eq!(parsed[3].param("nonce"), Some("x"));
        // Garbage never loops or panics.
        assert!(parse_challenges("\u{0}\u{1} =\"").is_empty());
        assert_eq!(parse_challenges("Digest realm=\"open").len(), 1);
        assert_eq!(client_nonce().len(), 32);
        assert_ne!(client_nonce(), client_nonce());
    }
}
