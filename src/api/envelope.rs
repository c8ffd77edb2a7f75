//! The engine's response envelope, as JSON (escaped the way PHP's
//! `json_encode` escapes: `\/` and `\uXXXX`) or as XML for `dataType=xml`,
//! always well-formed XML 1.0 whatever the stored text holds.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde_json::{json, Map, Value};

use super::error::ApiError;

pub const ERROR_HEADER: &str = "x-mock-error";
pub const SIGN_INPUT_HEADER: &str = "x-mock-sign-input";

/// Which rendering the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Xml,
}

impl Format {
    pub fn from_data_type(value: Option<&str>) -> Format {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case("xml") => Format::Xml,
            _ => Format::Json,
        }
    }
}

pub fn success(data: Value) -> Value {
    // Not `json!`: it would copy `data` through `to_value` (a deep clone).
    let mut envelope = Map::with_capacity(3);
    envelope.insert("code".into(), Value::from(0));
    envelope.insert("message".into(), Value::from("success"));
    envelope.insert("data".into(), data);
    Value::Object(envelope)
}

pub fn failure(err: &ApiError) -> Value {
    json!({"code": err.code, "message": err.message(), "data": {}})
}

/// Serialises like PHP's `json_encode` with default flags: every non-ASCII
/// character as `\uXXXX` (UTF-16) and `/` as `\/`, in one pass.
pub fn php_json(value: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::with_capacity(512);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PhpFormatter);
    // Writing a `Value` into a `Vec` cannot fail.
    let _ = value.serialize(&mut serializer);
    String::from_utf8(out).unwrap_or_default()
}

/// serde_json's compact output, with PHP's escaping of string contents.
struct PhpFormatter;

impl serde_json::ser::Formatter for PhpFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut plain_from = 0;
        for (at, ch) in fragment.char_indices() {
            if ch != '/' && ch.is_ascii() {
                continue;
            }
            writer.write_all(&bytes[plain_from..at])?;
            if ch == '/' {
                writer.write_all(b"\\/")?;
            } else {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    writer.write_all(&unicode_escape(*unit))?;
                }
            }
            plain_from = at + ch.len_utf8();
        }
        writer.write_all(&bytes[plain_from..])
    }
}

/// `\uXXXX`, lowercase hex.
fn unicode_escape(unit: u16) -> [u8; 6] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digit = |shift: u16| HEX[usize::from((unit >> shift) & 0xf)];
    [b'\\', b'u', digit(12), digit(8), digit(4), digit(0)]
}

/// Renders the envelope as `<response>…</response>`; arrays become repeated
/// `<item>`, keys that are not XML names become `<item key="…">`.
pub fn to_xml(value: &Value) -> String {
    let mut writer = Writer::new(Vec::new());
    let _ = writer.write_event(Event::Decl(quick_xml::events::BytesDecl::new(
        "1.0",
        Some("utf-8"),
        None,
    )));
    write_element(&mut writer, "response", None, value);
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

/// Whether XML 1.0 allows `c` in a document at all (its `Char` production:
/// tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000 and up). Not even a
/// character reference may name another one, so NUL, the other C0 controls
/// and U+FFFE/U+FFFF cannot be written in XML 1.0; DEL (U+007F) and the C1
/// controls can, though the standard discourages them.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` with every character XML 1.0 cannot carry replaced by U+FFFD
/// (the Unicode replacement character), so that the answer stays XML.
fn xml_chars(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(
            text.chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

/// Escaped element text: `&`, `<`, `>` as entities, CR as `&#13;` (a parser
/// would turn a raw CR into LF), characters XML cannot carry as U+FFFD.
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in xml_chars(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn write_element(writer: &mut Writer<Vec<u8>>, name: &str, key_attr: Option<&str>, value: &Value) {
    let mut start = BytesStart::new(name);
    if let Some(key) = key_attr {
        start.push_attribute(("key", xml_chars(key).as_ref()));
    }
    let _ = writer.write_event(Event::Start(start));
    match value {
        Value::Object(map) => write_object(writer, map),
        Value::Array(items) => {
            for item in items {
                write_element(writer, "item", None, item);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            let _ = writer.write_event(Event::Text(BytesText::from_escaped(xml_text(s))));
        }
        other => {
            let _ = writer.write_event(Event::Text(BytesText::new(&other.to_string())));
        }
    }
    let _ = writer.write_event(Event::End(BytesEnd::new(name)));
}

fn write_object(writer: &mut Writer<Vec<u8>>, map: &Map<String, Value>) {
    for (key, child) in map {
        if is_xml_name(key) {
            write_element(writer, key, None, child);
        } else {
            write_element(writer, "item", Some(key), child);
        }
    }
}

/// The HTTP response for an envelope in the requested format.
pub fn respond(status: StatusCode, body: &Value, format: Format) -> Response {
    let (content_type, text) = match format {
        Format::Json => ("application/json; charset=utf-8", php_json(body)),
        Format::Xml => ("application/xml; charset=utf-8", to_xml(body)),
    };
    (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// The HTTP response for an already rendered JSON body (see [`php_json`]).
pub fn respond_rendered(status: StatusCode, body: axum::body::Bytes) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The HTTP response for an error, with its reason headers.
pub fn respond_error(err: &ApiError, format: Format) -> Response {
    let mut response = respond(err.status, &failure(err), format);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(err.reason()) {
        headers.insert(ERROR_HEADER, v);
    }
    if let Some(input) = &err.sign_input {
        let visible: String = input
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&visible) {
            headers.insert(SIGN_INPUT_HEADER, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_escaping() {
        assert_eq!(php_json(&json!({"a":"中/x"})), r#"{"a":"\u4e2d\/x"}"#);
        assert_eq!(php_json(&json!("😀")), r#""\ud83d\ude00""#);
        assert_eq!(
            php_json(&json!({"k/é": ["a\"b\n", 1, null, "x/y/中"]})),
            r#"{"k\/\u00e9":["a\"b\n",1,null,"x\/y\/\u4e2d"]}"#
        );
        let back: Value =
            serde_json::from_str(&php_json(&json!({"n":"裸4.0ZH"}))).unwrap_or_default();
        assert_eq!(back, json!({"n":"裸4.0ZH"}));
    }

    /// Text as stored strings may hold it: anything, and often the
    /// characters XML 1.0 forbids or treats specially.
    fn stored_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let special = prop::sample::select(vec![
            '\0', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x7f', '\u{85}', '\u{FFFE}', '\u{FFFF}',
            '\u{FFFD}', '\r', '\n', '\t', '<', '>', '&', '"', '\'', ']', '中', '😀',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), special], 0..16)
            .prop_map(String::from_iter)
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(512))]

        /// Whatever the strings, the answer parses in a conforming XML
        /// parser, and each reads back as stored except for the characters
        /// XML cannot carry, which read as U+FFFD.
        #[test]
        fn xml_answers_are_well_formed(texts in proptest::collection::vec(stored_text(), 1..5)) {
            let mut data = Map::new();
            data.insert("list".into(), json!(texts));
            if texts[0] != "list" {
                data.insert(texts[0].clone(), json!("keyed"));
            }
            let xml = to_xml(&json!({"code": 0, "message": texts[0], "data": data}));
            let doc = roxmltree::Document::parse(&xml);
            proptest::prop_assert!(doc.is_ok(), "{:?}: {:?}", doc.err(), xml);
            let Ok(doc) = doc else { return Ok(()) };
            let read: Vec<String> = doc
                .descendants()
                .filter(|n| n.has_tag_name("list"))
                .flat_map(|list| list.children().filter(|n| n.is_element()))
                .map(|item| item.text().unwrap_or_default().to_string())
                .collect();
            let expected: Vec<String> = texts.iter().map(|t| xml_chars(t).into_owned()).collect();
            proptest::prop_assert_eq!(read, expected);
        }
    }

    #[test]
    fn xml_forbidden_characters() {
        for c in ['\0', '\x01', '\x1b', '\u{FFFE}', '\u{FFFF}', '\x0b'] {
            assert!(!is_xml_char(c), "{c:?}");
        }
        for c in ['\t', '\n', '\r', ' ', '\x7f', '\u{85}', '\u{FFFD}', '😀'] {
            assert!(is_xml_char(c), "{c:?}");
        }
        assert_eq!(
            xml_text("a\x01<b>&\r\u{FFFF}"),
            "a\u{FFFD}&lt;b&gt;&amp;&#13;\u{FFFD}"
        );
    }

    #[test]
    fn xml_rendering() {
        let xml = to_xml(
            &json!({"code":0,"message":"success","data":{"zones":[{"guid":"1"}],"m":{"19":""},"n":null}}),
        );
        assert!(
            xml.contains("<response><code>0</code><message>success</message>"),
            "{xml}"
        );
        assert!(
            xml.contains("<zones><item><guid>1</guid></item></zones>"),
            "{xml}"
        );
        assert!(xml.contains(r#"<item key="19"></item>"#), "{xml}");
        assert!(xml.contains("<n></n>"), "{xml}");
        assert_eq!(Format::from_data_type(Some("XML")), Format::Xml);
        assert_eq!(Format::from_data_type(Some("json")), Format::Json);
    }
}
