//! Whole numbers as the control API reads them, in one place: every integer
//! field of a control body, a fault rule and a query string goes through
//! [`int`] or [`opt`] (`#[serde(deserialize_with = …)]`). A PHP client
//! sends both `30` and `"30"`, and `json_encode` writes a float that
//! happens to be whole as `30.0`; all three are 30. Anything else (`1.5`,
//! `"abc"`, `""`, `true`, an array) is refused, and the caller names the
//! field (serde_path_to_error).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};

/// The largest whole number an `f64` holds exactly: past it, `30.0` and
/// `31.0` may be the same float, so the number is not read as sent.
const EXACT_F64: f64 = 9_007_199_254_740_992.0;

/// An integer type a control field can have, with its range for messages.
pub trait Whole: Sized + Copy {
    const MIN: i128;
    const MAX: i128;
    fn from_i128(value: i128) -> Option<Self>;
}

macro_rules! whole {
    ($($t:ty),*) => {$(
        impl Whole for $t {
            const MIN: i128 = <$t>::MIN as i128;
            const MAX: i128 = <$t>::MAX as i128;
            fn from_i128(value: i128) -> Option<$t> {
                <$t>::try_from(value).ok()
            }
        }
    )*};
}

whole!(u16, u32, u64, i64, usize);

/// Reads a whole number: a JSON integer, a float without a fraction, or a
/// string of ASCII digits (an optional `-`, blanks around it ignored).
pub fn int<'de, D: Deserializer<'de>, T: Whole>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_any(WholeVisitor::<T>(PhantomData))
}

/// [`int`] for an optional field: absent (with `#[serde(default)]`) or
/// `null` is `None`.
pub fn opt<'de, D: Deserializer<'de>, T: Whole>(deserializer: D) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_any(OptVisitor::<T>(PhantomData))
}

/// [`int`] for a field serde_path_to_error cannot name: inside an
/// internally tagged enum (a fault effect) serde reads the fields from a
/// buffer, out of the path's sight, so the error names `field` itself.
pub fn int_named<'de, D: Deserializer<'de>, T: Whole>(
    deserializer: D,
    field: &str,
) -> Result<T, D::Error> {
    int(deserializer).map_err(|e| de::Error::custom(format!("{field}: {e}")))
}

/// [`opt`] with the field named, as [`int_named`].
pub fn opt_named<'de, D: Deserializer<'de>, T: Whole>(
    deserializer: D,
    field: &str,
) -> Result<Option<T>, D::Error> {
    opt(deserializer).map_err(|e| de::Error::custom(format!("{field}: {e}")))
}

/// What a value must be (serde puts "expected" before it).
const EXPECTED: &str = "a whole number (30, 30.0 or \"30\")";

fn in_range<T: Whole, E: de::Error>(value: i128, shown: &dyn fmt::Display) -> Result<T, E> {
    T::from_i128(value).ok_or_else(|| {
        E::custom(format!(
            "{shown} is out of range: expected a whole number from {} to {}",
            T::MIN,
            T::MAX
        ))
    })
}

/// The digits of a string, as a number: `"30"`, `"-5"`, `" 7 "`.
fn digits(text: &str) -> Option<i128> {
    let text = text.trim();
    let body = text.strip_prefix('-').unwrap_or(text);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

struct WholeVisitor<T>(PhantomData<T>);

impl<'de, T: Whole> Visitor<'de> for WholeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        in_range(i128::from(v), &v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        in_range(i128::from(v), &v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if v.is_finite() && v.fract() == 0.0 && v.abs() <= EXACT_F64 {
            // Exact: a whole float within 2^53 converts without loss.
            in_range(v as i128, &v)
        } else {
            Err(E::custom(format!("got {v}, expected {}", EXPECTED)))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        match digits(v) {
            Some(n) => in_range(n, &format!("{v:?}")),
            None => Err(E::custom(format!("got {v:?}, expected {}", EXPECTED))),
        }
    }
}

struct OptVisitor<T>(PhantomData<T>);

impl<'de, T: Whole> Visitor<'de> for OptVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "null or {}", EXPECTED)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        int(d).map(Some)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<T>, E> {
        WholeVisitor(PhantomData).visit_i64(v).map(Some)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<T>, E> {
        WholeVisitor(PhantomData).visit_u64(v).map(Some)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<T>, E> {
        WholeVisitor(PhantomData).visit_f64(v).map(Some)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
        WholeVisitor(PhantomData).visit_str(v).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "super::int")]
        n: u16,
        #[serde(default, deserialize_with = "super::opt")]
        m: Option<i64>,
    }

    fn read(value: serde_json::Value) -> Result<(u16, Option<i64>), String> {
        serde_json::from_value::<Probe>(value)
            .map(|p| (p.n, p.m))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_in_every_form_php_sends_are_taken() {
        for n in [
            json!(30),
            json!(30.0),
            json!("30"),
            json!(" 30 "),
            json!(3e1),
        ] {
            assert_eq!(read(json!({"n": n})), Ok((30, None)), "{n}");
        }
        for m in [json!(-5), json!(-5.0), json!("-5")] {
            assert_eq!(read(json!({"n": 1, "m": m})), Ok((1, Some(-5))), "{m}");
        }
        assert_eq!(read(json!({"n": 0, "m": null})), Ok((0, None)));
        assert_eq!(read(json!({"n": 65535})), Ok((65535, None)));
    }

    #[test]
    fn anything_else_is_refused_with_the_rule_and_the_range() {
        for bad in [
            json!(1.5),
            json!("1.5"),
            json!("30.0"),
            json!(""),
            json!("-"),
            json!("abc"),
            json!("1e3"),
            json!(true),
            json!([1]),
            json!({"n": 1}),
            json!(null),
            json!(-1),
            json!(65536),
            json!("65536"),
            json!(1e300),
            json!(9_007_199_254_740_994.0),
        ] {
            let err = read(json!({"n": bad})).err().unwrap_or_default();
            assert!(err.contains("a whole number"), "{bad}: {err:?}");
        }
        for out_of_range in [json!(-1), json!(65536), json!("65536")] {
            let err = read(json!({"n": out_of_range})).err().unwrap_or_default();
            assert!(
                err.contains("out of range: expected a whole number from 0 to 65535"),
                "{out_of_range}: {err:?}"
            );
        }
    }
}
