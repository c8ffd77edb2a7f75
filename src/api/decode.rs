//! Request body decoding: `application/x-www-form-urlencoded` and
//! `multipart/form-data` with PHP's bracket nesting (`a[0][b]=…`, `a[]=…`)
//! and JSON object bodies all become one [`Params`] value; any other content
//! type is refused, as a PHP engine would see no fields. Limits on fields, nesting and value
//! length are enforced here, each with its own reason.

use percent_encoding::percent_decode;
use serde_json::{Map, Value};

use crate::protocol::{Limits, Params, Reason, Refusal};

/// How a body is read, decided by its content type the way a PHP engine
/// decides whether to fill `$_POST`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyKind {
    Json,
    Form,
    /// `multipart/form-data`, with its boundary.
    Multipart(String),
    /// Anything else: the content type as sent, or `None` when absent.
    Unsupported(Option<String>),
}

impl BodyKind {
    fn of(content_type: Option<&str>, body: &[u8]) -> Result<BodyKind, Refusal> {
        let essence = content_type.map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        // A JSON object is read whatever the header says, as before: the
        // document's degrade example is a JSON body, and clients that send
        // one often leave curl's default form content type in place.
        let looks_like_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if looks_like_json || essence.as_deref().is_some_and(|e| e.contains("json")) {
            return Ok(BodyKind::Json);
        }
        match essence.as_deref() {
            Some("application/x-www-form-urlencoded") => Ok(BodyKind::Form),
            Some("multipart/form-data") => content_type
                .and_then(|ct| multer::parse_boundary(ct).ok())
                .map(BodyKind::Multipart)
                .ok_or_else(|| {
                    Refusal::new(
                        Reason::BadBody,
                        "multipart/form-data 请求缺少 boundary 参数",
                    )
                }),
            _ => Ok(BodyKind::Unsupported(content_type.map(str::to_string))),
        }
    }
}

/// Decodes a body by its content type: JSON when declared or when it is a
/// JSON object; a form for `application/x-www-form-urlencoded` and
/// `multipart/form-data`; anything else is refused, because a PHP engine
/// fills `$_POST` from those two only and would see no fields at all.
pub fn decode_body(
    content_type: Option<&str>,
    body: &[u8],
    limits: Limits,
) -> Result<Params, Refusal> {
    match BodyKind::of(content_type, body)? {
        BodyKind::Json => decode_json(body, limits),
        BodyKind::Form => decode_form(body, limits),
        BodyKind::Multipart(boundary) => decode_multipart(body, boundary, limits),
        BodyKind::Unsupported(content_type) => Err(unsupported(content_type.as_deref())),
    }
}

fn unsupported(content_type: Option<&str>) -> Refusal {
    const WHY: &str = "引擎只从 application/x-www-form-urlencoded 或 multipart/form-data 请求体（或 JSON 对象）读取参数";
    let message = match content_type {
        // A header value is visible ASCII; a long one is cut for the message.
        Some(ct) => format!(
            "不支持的 Content-Type：{}；{WHY}",
            ct.chars().take(80).collect::<String>()
        ),
        None => format!("请求缺少 Content-Type；{WHY}"),
    };
    Refusal::new(Reason::UnsupportedContentType, message)
}

pub fn decode_json(body: &[u8], limits: Limits) -> Result<Params, Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(Reason::BadBody, format!("请求体不是合法的 JSON：{e}")))?;
    let Value::Object(map) = value else {
        return Err(Refusal::new(Reason::BadBody, "JSON 请求体须为对象"));
    };
    let mut fields = 0usize;
    for v in map.values() {
        check_value(v, 1, &mut fields, limits)?;
    }
    Ok(Params(map))
}

fn check_value(
    value: &Value,
    depth: usize,
    fields: &mut usize,
    limits: Limits,
) -> Result<(), Refusal> {
    if depth > limits.max_depth {
        return Err(too_deep(limits));
    }
    match value {
        Value::Array(items) => items
            .iter()
            .try_for_each(|v| check_value(v, depth + 1, fields, limits)),
        Value::Object(map) => map
            .values()
            .try_for_each(|v| check_value(v, depth + 1, fields, limits)),
        Value::String(s) => {
            *fields += 1;
            check_len(s, limits)?;
            check_count(*fields, limits)
        }
        _ => {
            *fields += 1;
            check_count(*fields, limits)
        }
    }
}

fn too_deep(limits: Limits) -> Refusal {
    Refusal::new(
        Reason::NestingTooDeep,
        format!("参数嵌套层数超过上限 {}", limits.max_depth),
    )
}

fn check_count(fields: usize, limits: Limits) -> Result<(), Refusal> {
    if fields > limits.max_fields {
        return Err(Refusal::new(
            Reason::TooManyFields,
            format!("参数个数超过上限 {}", limits.max_fields),
        ));
    }
    Ok(())
}

fn check_len(s: &str, limits: Limits) -> Result<(), Refusal> {
    if s.len() > limits.max_value_len {
        return Err(Refusal::new(
            Reason::ValueTooLong,
            format!("参数值长度超过上限 {} 字节", limits.max_value_len),
        ));
    }
    Ok(())
}

fn url_decode(raw: &[u8]) -> Result<String, Refusal> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Refusal::new(Reason::BadBody, "请求体含有非法的 UTF-8 字节"))
}

/// Decodes `application/x-www-form-urlencoded` the way PHP fills `$_POST`.
pub fn decode_form(body: &[u8], limits: Limits) -> Result<Params, Refusal> {
    let mut form = FormBuilder::new(limits);
    for pair in body.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        form.count()?;
        let (raw_key, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        form.add(&url_decode(raw_key)?, url_decode(raw_value)?)?;
    }
    Ok(form.finish())
}

/// Decodes `multipart/form-data` the way PHP fills `$_POST`: every part
/// without a `filename` is a field, its name parsed with the same bracket
/// rules as a urlencoded name (PHP runs both through one function). A part
/// with a `filename` goes to `$_FILES` in PHP, which the engine's API never
/// reads, so it is skipped here. Limits are those of a urlencoded form.
pub fn decode_multipart(body: &[u8], boundary: String, limits: Limits) -> Result<Params, Refusal> {
    use futures_util::FutureExt;
    let whole = axum::body::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(std::future::ready(Ok::<_, std::io::Error>(whole)));
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut form = FormBuilder::new(limits);
    let parse = async {
        while let Some(field) = multipart.next_field().await.map_err(bad_multipart)? {
            let Some(name) = field.name().map(str::to_string) else {
                continue; // PHP skips a part without a name.
            };
            if field.file_name().is_some() {
                continue; // `$_FILES`, not `$_POST`.
            }
            form.count()?;
            let bytes = field.bytes().await.map_err(bad_multipart)?;
            let value = String::from_utf8(bytes.to_vec())
                .map_err(|_| Refusal::new(Reason::BadBody, "请求体含有非法的 UTF-8 字节"))?;
            form.add(&name, value)?;
        }
        Ok::<(), Refusal>(())
    };
    // The whole body is already in memory, so the parser never waits: one
    // poll runs it to the end, and the decoder stays synchronous.
    parse
        .now_or_never()
        .unwrap_or_else(|| Err(Refusal::new(Reason::BadBody, "multipart 请求体不完整")))?;
    Ok(form.finish())
}

fn bad_multipart(err: multer::Error) -> Refusal {
    Refusal::new(
        Reason::BadBody,
        format!("multipart/form-data 请求体格式错误：{err}"),
    )
}

/// Builds the params of a form, one named value at a time, with PHP's
/// bracket nesting and the decoder's limits.
struct FormBuilder {
    root: Value,
    fields: usize,
    limits: Limits,
}

impl FormBuilder {
    fn new(limits: Limits) -> FormBuilder {
        FormBuilder {
            root: Value::Object(Map::new()),
            fields: 0,
            limits,
        }
    }

    /// Counts one more field against `max_fields`.
    fn count(&mut self) -> Result<(), Refusal> {
        self.fields += 1;
        check_count(self.fields, self.limits)
    }

    fn add(&mut self, key: &str, value: String) -> Result<(), Refusal> {
        check_len(&value, self.limits)?;
        let path = split_php_key(key);
        if path.is_empty() || path[0].as_deref() == Some("") {
            return Ok(()); // PHP drops fields with an empty name.
        }
        if path.len() > self.limits.max_depth {
            return Err(too_deep(self.limits));
        }
        insert_path(&mut self.root, &path, value);
        Ok(())
    }

    fn finish(self) -> Params {
        match normalise(self.root) {
            Value::Object(map) => Params(map),
            _ => Params::default(),
        }
    }
}

/// Splits `a[0][b][]` into `[Some("a"), Some("0"), Some("b"), None]`, where
/// `None` means "append". An unclosed bracket makes the name literal, with
/// `[` turned into `_`, as PHP does.
pub fn split_php_key(key: &str) -> Vec<Option<String>> {
    let Some(open) = key.find('[') else {
        return vec![Some(key.to_string())];
    };
    let base = &key[..open];
    let mut rest = &key[open..];
    let mut path = vec![Some(base.to_string())];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            if path.len() == 1 {
                return vec![Some(key.replacen('[', "_", 1))];
            }
            break;
        };
        let segment = &stripped[..close];
        path.push(if segment.is_empty() {
            None
        } else {
            Some(segment.to_string())
        });
        rest = &stripped[close + 1..];
    }
    path
}

fn insert_path(node: &mut Value, path: &[Option<String>], value: String) {
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(map) = node else { return };
    let key = match &path[0] {
        Some(k) => k.clone(),
        None => match next_index(map) {
            Some(i) => i.to_string(),
            None => return, // PHP drops a `[]` field that has no next index.
        },
    };
    if path.len() == 1 {
        map.insert(key, Value::String(value));
    } else {
        let child = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        insert_path(child, &path[1..], value);
    }
}

/// PHP's `[]`: one more than the largest integer key, or 0; `None` when
/// that would overflow (found by fuzzing: `a[18446744073709551615]=1&a[]=2`).
fn next_index(map: &Map<String, Value>) -> Option<u64> {
    match map.keys().filter_map(|k| k.parse::<u64>().ok()).max() {
        Some(m) => m.checked_add(1),
        None => Some(0),
    }
}

/// Objects whose keys are exactly `0..n` in order become arrays, so that a
/// bracket list and a JSON array decode to the same value.
fn normalise(value: Value) -> Value {
    match value {
        Value::Object(mut map) => {
            let is_list =
                !map.is_empty() && map.keys().enumerate().all(|(i, k)| k == &i.to_string());
            if is_list {
                Value::Array(map.into_iter().map(|(_, v)| normalise(v)).collect())
            } else {
                // In place: a flat form (the usual request) is not rebuilt.
                for v in map.values_mut() {
                    if v.is_object() {
                        *v = normalise(std::mem::take(v));
                    }
                }
                Value::Object(map)
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(body: &str) -> Result<Value, Reason> {
        decode_form(body.as_bytes(), Limits::default())
            .map(|p| Value::Object(p.0))
            .map_err(|e| e.reason)
    }

    fn check(body: &str, expect: Value) {
        assert_eq!(form(body), Ok(expect), "body: {body}");
    }

    #[test]
    fn flat_fields() {
        check(
            "a=1&b=two+words&c=%E4%B8%AD",
            json!({"a":"1","b":"two words","c":"中"}),
        );
        check("a=&b", json!({"a":"","b":""}));
        check("a=1&a=2", json!({"a":"2"}));
    }

    #[test]
    fn php_nesting() {
        check(
            "param[0][item]=ip&param[0][value][0]=114.114.8.16-23&param[1][item]=bandwidth",
            json!({"param":[{"item":"ip","value":["114.114.8.16-23"]},{"item":"bandwidth"}]}),
        );
        check("v[]=a&v[]=b", json!({"v":["a","b"]}));
        check("m[x]=1&m[y]=2", json!({"m":{"x":"1","y":"2"}}));
        check("p%5B0%5D%5Bitem%5D=ip", json!({"p":[{"item":"ip"}]}));
    }

    #[test]
    fn malformed_input() {
        // Unclosed brackets make the name literal, as PHP does.
        check("a[b=1", json!({"a_b":"1"}));
        // Bad percent-escapes stay literal, as PHP does.
        check("a=%zz%4", json!({"a":"%zz%4"}));
        assert_eq!(form("a=%ff%fe"), Err(Reason::BadBody));
        assert_eq!(form("%ff=1"), Err(Reason::BadBody));
        let deep = format!("a{}=1", "[x]".repeat(40));
        assert_eq!(form(&deep), Err(Reason::NestingTooDeep));
        let many = (0..1001)
            .map(|i| format!("f{i}=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(form(&many), Err(Reason::TooManyFields));
        let long = format!("a={}", "x".repeat(70_000));
        assert_eq!(form(&long), Err(Reason::ValueTooLong));
    }

    #[test]
    fn json_bodies() {
        let p = decode_body(
            None,
            br#"{"time":1629256049,"param":[{"item":"ip"}]}"#,
            Limits::default(),
        )
        .map_err(|e| e.reason);
        let p = p.unwrap_or_default();
        assert_eq!(p.str("time").as_deref(), Some("1629256049"));
        assert_eq!(
            p.nested("param").ok().flatten(),
            Some(json!([{"item":"ip"}]))
        );
        assert!(decode_json(b"[1]", Limits::default()).is_err());
        assert!(decode_json(b"{", Limits::default()).is_err());
    }

    /// A multipart body as PHP's curl builds one for an array
    /// `CURLOPT_POSTFIELDS`: one part per field, `name` as given.
    fn multipart(parts: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
        let mut body = String::new();
        for (name, file, value) in parts {
            body.push_str("--XyZ\r\n");
            match file {
                Some(f) => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )),
                None => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                )),
            }
            body.push_str(value);
            body.push_str("\r\n");
        }
        body.push_str("--XyZ--\r\n");
        body.into_bytes()
    }

    const MULTIPART: Option<&str> = Some("multipart/form-data; boundary=XyZ");

    fn by_type(ct: Option<&str>, body: &[u8], limits: Limits) -> Result<Value, Reason> {
        decode_body(ct, body, limits)
            .map(|p| Value::Object(p.0))
            .map_err(|e| e.reason)
    }

    #[test]
    fn multipart_is_a_form() {
        let body = multipart(&[
            ("module", None, "baremetal"),
            ("param[0][item]", None, "ip"),
            ("param[0][value][]", None, "114.114.8.16-23"),
            ("param[1][item]", None, "bandwidth"),
            ("note", None, "两 words & = %41"),
            ("upload", Some("a.txt"), "file body"),
        ]);
        assert_eq!(
            by_type(MULTIPART, &body, Limits::default()),
            Ok(json!({
                "module": "baremetal",
                "param": [{"item":"ip","value":["114.114.8.16-23"]},{"item":"bandwidth"}],
                "note": "两 words & = %41",
            }))
        );
        // The same limits as a urlencoded form.
        let small = Limits {
            max_fields: 2,
            max_depth: 2,
            max_value_len: 4,
        };
        let three = multipart(&[("a", None, "1"), ("b", None, "2"), ("c", None, "3")]);
        assert_eq!(
            by_type(MULTIPART, &three, small),
            Err(Reason::TooManyFields)
        );
        let long = multipart(&[("a", None, "12345")]);
        assert_eq!(by_type(MULTIPART, &long, small), Err(Reason::ValueTooLong));
        let deep = multipart(&[("a[b][c]", None, "1")]);
        assert_eq!(
            by_type(MULTIPART, &deep, small),
            Err(Reason::NestingTooDeep)
        );
        // Broken multipart, a missing boundary, bad UTF-8: `bad_body`.
        for (ct, body) in [
            (MULTIPART, b"--XyZ\r\nno headers".to_vec()),
            (Some("multipart/form-data"), multipart(&[("a", None, "1")])),
            (
                MULTIPART,
                [&multipart(&[("a", None, "")])[..30], b"\xff\r\n--XyZ--\r\n"].concat(),
            ),
        ] {
            assert_eq!(
                by_type(ct, &body, Limits::default()),
                Err(Reason::BadBody),
                "{ct:?} {}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn content_types_php_does_not_read_are_refused() {
        let form = b"module=baremetal&action=getzones";
        for ct in [
            Some("text/plain"),
            Some("application/xml"),
            Some("image/png"),
            Some(""),
            None,
        ] {
            assert_eq!(
                by_type(ct, form, Limits::default()),
                Err(Reason::UnsupportedContentType),
                "{ct:?}"
            );
        }
        let err = decode_body(Some("text/plain; charset=utf-8"), form, Limits::default());
        let message = err.map(|_| String::new()).unwrap_or_else(|e| e.message);
        assert!(message.contains("text/plain; charset=utf-8"), "{message}");
        // A form type with parameters, in any case, is still a form.
        for ct in [
            "application/x-www-form-urlencoded; charset=UTF-8",
            "Application/X-WWW-Form-Urlencoded",
        ] {
            assert_eq!(
                by_type(Some(ct), form, Limits::default()),
                Ok(json!({"module":"baremetal","action":"getzones"}))
            );
        }
        // A JSON object is read whatever the header says, as before.
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            assert_eq!(
                by_type(ct, br#" {"a":"1"}"#, Limits::default()),
                Ok(json!({"a":"1"}))
            );
        }
    }

    #[test]
    fn json_string_inside_form_field() {
        let p = decode_form(
            b"param=%5B%7B%22item%22%3A%22ip%22%7D%5D",
            Limits::default(),
        )
        .unwrap_or_default();
        assert_eq!(
            p.nested("param").ok().flatten(),
            Some(json!([{"item":"ip"}]))
        );
        let bad = decode_form(b"param=nope", Limits::default()).unwrap_or_default();
        assert!(bad.nested("param").is_err());
    }
}
