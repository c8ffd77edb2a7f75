//! Who may use the control API.

use std::net::IpAddr;

use axum::http::StatusCode;

use super::AdminError;
use crate::protocol::Reason;

/// Who may call: with a token configured, every client that presents it;
/// without one, every client when the API is open (`--admin-open`),
/// loopback clients only otherwise.
pub fn admin_access(
    open: bool,
    peer: Option<IpAddr>,
    token: Option<&str>,
    authorization: Option<&str>,
) -> Result<(), AdminError> {
    if open && token.is_none() {
        return Ok(());
    }
    admin_allowed(peer, token, authorization)
}

/// With a token configured, every client must present it; without one,
/// only loopback clients are served.
pub fn admin_allowed(
    peer: Option<IpAddr>,
    token: Option<&str>,
    authorization: Option<&str>,
) -> Result<(), AdminError> {
    match token {
        Some(expected) => {
            let given = authorization.and_then(bearer_token);
            let ok = given.is_some_and(|g| {
                use subtle::ConstantTimeEq;
                g.len() == expected.len() && bool::from(g.as_bytes().ct_eq(expected.as_bytes()))
            });
            if ok {
                Ok(())
            } else {
                Err(AdminError::new(
                    StatusCode::UNAUTHORIZED,
                    Reason::AdminTokenRequired,
                    "the control API needs Authorization: Bearer <admin token>",
                ))
            }
        }
        None => match peer {
            Some(ip) if ip.is_loopback() || ip.to_canonical().is_loopback() => Ok(()),
            _ => Err(AdminError::new(
                StatusCode::FORBIDDEN,
                Reason::AdminLoopbackOnly,
                "the control API answers loopback clients only; start the server with --admin-open or --admin-token to allow others",
            )),
        },
    }
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is
/// case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are `Bearer`.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once(char::is_whitespace)?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(peer: &str, token: Option<&str>, auth: Option<&str>) -> Result<(), &'static str> {
        admin_allowed(peer.parse().ok(), token, auth).map_err(|e| e.reason.as_str())
    }

    #[test]
    fn guard_table() {
        assert_eq!(check("127.0.0.1", None, None), Ok(()));
        assert_eq!(check("::1", None, None), Ok(()));
        assert_eq!(check("::ffff:127.0.0.1", None, None), Ok(()));
        assert_eq!(check("10.1.2.3", None, None), Err("admin_loopback_only"));
        assert_eq!(
            check("192.168.1.5", None, Some("Bearer x")),
            Err("admin_loopback_only")
        );
        assert_eq!(
            check("10.1.2.3", Some("s3cret"), Some("Bearer s3cret")),
            Ok(())
        );
        assert_eq!(
            check("10.1.2.3", Some("s3cret"), Some("Bearer nope")),
            Err("admin_token_required")
        );
        assert_eq!(
            check("127.0.0.1", Some("s3cret"), None),
            Err("admin_token_required")
        );
        assert_eq!(
            check("10.1.2.3", Some("s3cret"), Some("s3cret")),
            Err("admin_token_required")
        );
        for scheme in ["bearer", "BEARER", "bEaReR"] {
            let header = format!("{scheme} s3cret");
            assert_eq!(
                check("10.1.2.3", Some("s3cret"), Some(&header)),
                Ok(()),
                "{header}"
            );
        }
        assert_eq!(
            check("10.1.2.3", Some("s3cret"), Some("Bearers3cret")),
            Err("admin_token_required")
        );
    }

    #[test]
    fn an_open_control_api_serves_every_client_unless_a_token_locks_it() {
        let open = |peer: &str, token: Option<&str>, auth: Option<&str>| {
            admin_access(true, peer.parse().ok(), token, auth).map_err(|e| e.reason.as_str())
        };
        assert_eq!(open("10.1.2.3", None, None), Ok(()));
        assert_eq!(open("2001:db8::1", None, None), Ok(()));
        assert_eq!(open("127.0.0.1", None, None), Ok(()));
        assert_eq!(
            open("10.1.2.3", Some("s3cret"), None),
            Err("admin_token_required")
        );
        assert_eq!(
            open("10.1.2.3", Some("s3cret"), Some("Bearer s3cret")),
            Ok(())
        );
        // Closed (the default outside the image), nothing changes.
        assert_eq!(
            admin_access(false, "10.1.2.3".parse().ok(), None, None).map_err(|e| e.reason.as_str()),
            Err("admin_loopback_only")
        );
    }
}
