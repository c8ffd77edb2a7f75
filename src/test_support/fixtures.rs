//! The seed's example GUIDs and the create request, written once for every
//! test crate, the benchmark and the fuzz targets: what each GUID is in
//! `seed-data/`, and the document's `create` parameters with the variants
//! the callers send.

use serde_json::{json, Value};

/// The example line (`lines.json`): 裸4.0ZH, open for sale, upgrades and
/// degrades; the line of the document's examples.
pub const LINE: &str = "1665907446560259";
/// The example product on [`LINE`] (`products.json`): zhzy4.0, 8 cores.
pub const PRODUCT: &str = "1665907642748705";
/// The example OS image (`systems.json`): CentOS 7.9, bare metal and
/// cloud, on every line.
pub const SYSTEM: &str = "1633652801461868";
/// The instance of the document's examples (`instances.json`), seeded for
/// userid 1 on [`PRODUCT`] with [`SYSTEM`].
pub const EXAMPLE_GUID: &str = "1708330228791024";

/// The Hong Kong BGP line: `upgrade_status`, `defense_status` and
/// `reservation_degrade_status` 0 (closed to upgrades and degrades).
pub const LINE_HK: &str = "1665907446560301";
/// The product on [`LINE_HK`]: HK-E3-1230.
pub const PRODUCT_HK: &str = "1665907642748802";
/// The Inner Mongolia telecom line: `ip_bandwidth_rate` 0, subnets only,
/// `ip_num_list` 4,8,16,32.
pub const LINE_NM: &str = "1665907446560302";
/// A product on [`LINE_NM`]: NM-Gold-6248R.
pub const PRODUCT_NM_GOLD: &str = "1665907642748803";
/// A product on [`LINE_NM`]: NM-Atom-C3558 (2 cores, 4G, no partitions, 3 units).
pub const PRODUCT_ATOM: &str = "1665907642748804";
/// The Inner Mongolia unicom line, `buy_status` 0 (not for sale).
pub const LINE_CLOSED: &str = "1665907446560303";
/// The product on [`LINE_CLOSED`]: NM-CU-i7.
pub const PRODUCT_CLOSED_LINE: &str = "1665907642748806";
/// A disabled product (`status` 0) on [`LINE`]: zhzy3.0（已下架）.
pub const PRODUCT_OFF: &str = "1665907642748805";
/// Ubuntu 22.04: Linux class like [`SYSTEM`], bare metal only, create and
/// install; on lines 259, 301 and 302.
pub const UBUNTU: &str = "1695196885222201";

/// The document's create request on [`LINE`], [`PRODUCT`] and [`SYSTEM`],
/// one instance for one month: every field its example sends but the
/// `agent_order_no`, in its order. `loginPassword` is base64 of `Aa535029279!`.
pub const CREATE_FIELDS: &[(&str, &str)] = &[
    ("lineGuid", LINE),
    ("productGuid", PRODUCT),
    ("systemGuid", SYSTEM),
    ("loginName", "root"),
    ("loginPassword", "QWE1MzUwMjkyNzkh"),
    ("buyRemarks", ""),
    ("months", "1"),
    ("clientOrderNo", "18369"),
    ("clientUserId", "1100123"),
    ("num", "1"),
    ("system_partition_size", "-1"),
];

/// The fields of [`CREATE_FIELDS`] that `create` does not require.
pub const OPTIONAL_CREATE_FIELDS: &[&str] = &[
    "buyRemarks",
    "clientOrderNo",
    "clientUserId",
    "system_partition_size",
];

/// The fields of [`CREATE_FIELDS`] that `create` requires (line, product,
/// system, login, months, num), in the same order.
pub fn required_create_fields() -> impl Iterator<Item = (&'static str, &'static str)> {
    CREATE_FIELDS
        .iter()
        .filter(|(k, _)| !OPTIONAL_CREATE_FIELDS.contains(k))
        .copied()
}

/// The document's create request ([`CREATE_FIELDS`]) with `order` as its
/// `agent_order_no`, last, as the document sends it.
pub fn create_params(order: &str) -> Value {
    with_order(CREATE_FIELDS.iter().copied(), order)
}

/// [`create_params`] with only the fields `create` requires, in the same
/// order.
pub fn required_create_params(order: &str) -> Value {
    with_order(required_create_fields(), order)
}

fn with_order<'a>(fields: impl Iterator<Item = (&'a str, &'a str)>, order: &str) -> Value {
    let mut map: serde_json::Map<String, Value> =
        fields.map(|(k, v)| (k.to_string(), json!(v))).collect();
    map.insert("agent_order_no".into(), json!(order));
    Value::Object(map)
}

/// [`create_params`] with `overrides` laid over it (see [`overlay`]).
pub fn create_params_with(order: &str, overrides: Value) -> Value {
    overlay(create_params(order), overrides)
}

/// `params` with each field of the object `overrides`: a field already
/// there keeps its place and takes the new value, a new one is added at the
/// end, and a `null` leaves the field out. Anything but an object changes
/// nothing.
pub fn overlay(mut params: Value, overrides: Value) -> Value {
    if let (Some(map), Value::Object(o)) = (params.as_object_mut(), overrides) {
        for (k, v) in o {
            if v.is_null() {
                map.shift_remove(&k);
            } else {
                map.insert(k, v);
            }
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_variants_keep_the_document_s_order() {
        let full = create_params("7");
        assert_eq!(
            keys(&full),
            [
                "lineGuid",
                "productGuid",
                "systemGuid",
                "loginName",
                "loginPassword",
                "buyRemarks",
                "months",
                "clientOrderNo",
                "clientUserId",
                "num",
                "system_partition_size",
                "agent_order_no"
            ]
        );
        assert_eq!(full["agent_order_no"], "7");
        let required = required_create_params("7");
        assert_eq!(
            keys(&required),
            [
                "lineGuid",
                "productGuid",
                "systemGuid",
                "loginName",
                "loginPassword",
                "months",
                "num",
                "agent_order_no"
            ]
        );
        let changed = create_params_with("7", json!({"num": "4", "buyRemarks": null, "x": "y"}));
        assert_eq!(changed["num"], "4");
        assert_eq!(keys(&changed).len(), 12);
        assert_eq!(keys(&changed)[8], "num");
        assert_eq!(keys(&changed)[11], "x");
    }
}
