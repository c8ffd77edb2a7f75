//! Authentication of `/api` requests: required common fields, strict-mode
//! fields, the member, the sign (telling a wrong key from a bad sign), the
//! time window, and the module/action names.

use super::error::ApiError;
use crate::actions::check_names;
use crate::clock;
use crate::engine::{Call, Engine};
use crate::protocol::{sign, Params, Reason, Refusal};

/// Authenticates a decoded request against an engine's members. The
/// checks run in this order, each refusing with its own reason.
pub fn authenticate(engine: &Engine, params: &Params) -> Result<Call, ApiError> {
    let module = params.required("module")?;
    let action = params.required("action")?;
    let userid = params.required("userid")?;
    let time = params.required("time")?;
    let given_sign = params.required("sign")?;
    if !engine.settings().lenient {
        strict_fields(params)?;
    }
    let time_value: i64 = time.parse().map_err(|_| {
        Refusal::bad_param("time", format!("应为 UNIX 时间戳（整数秒），收到 {time:?}"))
    })?;
    let Some(key) = engine.api_key(&userid) else {
        return Err(ApiError::new(
            Reason::UnknownUser,
            format!("会员不存在：userid {userid}"),
        ));
    };
    let signed = Signed {
        module: &module,
        action: &action,
        userid: &userid,
        time: &time,
    };
    check_sign(engine, &signed, key, &given_sign)?;
    check_time_skew(engine, time_value)?;
    let action = check_names(&module, &action)?;
    let taskid = params.str("taskid").filter(|t| !t.trim().is_empty());
    Ok(Call {
        action,
        userid,
        taskid,
        params: params.clone(),
    })
}

/// The signed fields of a request, as the caller sent them.
struct Signed<'a> {
    module: &'a str,
    action: &'a str,
    userid: &'a str,
    time: &'a str,
}

/// The sign must be the member's; one made with another member's key is
/// told apart from one that is simply wrong.
fn check_sign(engine: &Engine, s: &Signed, key: &str, given: &str) -> Result<(), ApiError> {
    let sign_with = |k: &str| sign::sign(s.module, s.action, s.userid, k, s.time);
    if sign::sign_matches(given, &sign_with(key)) {
        return Ok(());
    }
    let userid = s.userid;
    let other = engine
        .users()
        .find(|(u, k)| *u != userid && sign::sign_matches(given, &sign_with(k)))
        .map(|(u, _)| u.to_string());
    let mut err = match other {
        Some(owner) => ApiError::new(
            Reason::KeyMismatch,
            format!("API 秘钥错误：签名使用的秘钥不属于会员 {userid}（它属于会员 {owner}）"),
        ),
        None => ApiError::new(Reason::SignInvalid, sign::SIGN_INVALID_MESSAGE),
    };
    err.sign_input = Some(sign::masked_canonical(s.module, s.action, userid, s.time));
    Err(err)
}

/// With `--time-skew`, the request's time must be that close to the wall clock.
fn check_time_skew(engine: &Engine, time_value: i64) -> Result<(), ApiError> {
    let skew = engine.settings().time_skew as i64;
    if skew > 0 {
        let wall = clock::wall_seconds();
        if (time_value - wall).abs() > skew {
            return Err(ApiError::new(
                Reason::TimeSkew,
                format!(
                    "请求时间戳 {time_value} 与服务器时间 {wall} 相差超过 {skew} 秒，请校准时间"
                ),
            ));
        }
    }
    Ok(())
}

/// `version`, `system_type` (or their `__…__` aliases) and `vtime` (YYYYMMDD).
fn strict_fields(params: &Params) -> Result<(), Refusal> {
    let either = |a: &str, b: &str| {
        params
            .str(a)
            .or_else(|| params.str(b))
            .filter(|v| !v.trim().is_empty())
    };
    if either("version", "__version__").is_none() {
        return Err(Refusal::missing("version（或 __version__）"));
    }
    if either("system_type", "__system_type__").is_none() {
        return Err(Refusal::missing("system_type（或 __system_type__）"));
    }
    let vtime = params.required("vtime")?;
    if vtime.len() != 8 || chrono::NaiveDate::parse_from_str(&vtime, "%Y%m%d").is_err() {
        return Err(Refusal::bad_param(
            "vtime",
            // Only the form is checked, not that it is today: the
            // document's own degrade example sends a month-old vtime.
            format!("应为 YYYYMMDD 格式的日期，收到 {vtime:?}"),
        ));
    }
    Ok(())
}
