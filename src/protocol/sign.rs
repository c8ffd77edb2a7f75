//! The engine's request signature:
//! `md5(module + "zkeys.api@2019" + action + userid + api_key + time)`,
//! lowercase hex, compared case-insensitively in constant time.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use super::mask::KEY_MASK;

/// The fixed salt the upstream document puts between module and action.
pub const SALT: &str = "zkeys.api@2019";

/// What a `sign_invalid` refusal says, and what `drift` and `seed pull`
/// say when an engine refuses their sign.
pub const SIGN_INVALID_MESSAGE: &str =
    "签名错误：sign 应为 md5(module + 'zkeys.api@2019' + action + userid + API秘钥 + time)";

/// The string that is hashed.
pub fn canonical(module: &str, action: &str, userid: &str, key: &str, time: &str) -> String {
    format!("{module}{SALT}{action}{userid}{key}{time}")
}

/// The canonical string with the key masked, for diagnostics.
pub fn masked_canonical(module: &str, action: &str, userid: &str, time: &str) -> String {
    canonical(module, action, userid, KEY_MASK, time)
}

pub fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

pub fn sign(module: &str, action: &str, userid: &str, key: &str, time: &str) -> String {
    md5_hex(&canonical(module, action, userid, key, time))
}

/// Constant-time, case-insensitive comparison of a given sign with the expected one.
pub fn sign_matches(given: &str, expected: &str) -> bool {
    let given = given.trim().to_ascii_lowercase();
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_formula() {
        // md5("baremetalzkeys.api@2019getzones1mock-api-key1732779600")
        let expected = md5_hex("baremetalzkeys.api@2019getzones1mock-api-key1732779600");
        assert_eq!(
            sign("baremetal", "getzones", "1", "mock-api-key", "1732779600"),
            expected
        );
        assert_eq!(expected.len(), 32);
        assert!(sign_matches(&expected.to_uppercase(), &expected));
        assert!(!sign_matches(&expected[..31], &expected));
        assert!(!sign_matches("", &expected));
        assert_eq!(
            masked_canonical("baremetal", "getzones", "1", "1732779600"),
            "baremetalzkeys.api@2019getzones1***1732779600"
        );
    }

    #[test]
    fn md5_known_vector() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
