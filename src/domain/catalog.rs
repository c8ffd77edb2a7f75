//! Typed views of the catalog records the rules need. The wire documents
//! themselves stay as the seed wrote them; these are read from them.
//!
//! The views are read by hand (`from_doc`) rather than by a serde derive:
//! the document sends every number as a string and the engine reads it
//! leniently (missing or unparsable is 0), lists are comma strings, one
//! field is renamed and one is clamped, so a derive would need a
//! `deserialize_with`, a `default` and often a `rename` on nearly every
//! field, and the rules would hide in attributes.

use serde_json::{Map, Value};

use super::RuleError;

/// A catalog record exactly as the engine sends it.
pub type Doc = Map<String, Value>;

fn text<'a>(doc: &'a Doc, field: &str) -> &'a str {
    doc.get(field).and_then(Value::as_str).unwrap_or("")
}

fn int(doc: &Doc, field: &str) -> i64 {
    text(doc, field)
        .trim()
        .parse::<f64>()
        .map(|f| f as i64)
        .unwrap_or(0)
}

/// Splits `"1,2,3"` (the document also shows full-width `，`) into numbers.
pub fn number_list(text: &str) -> Vec<i64> {
    text.split([',', '，'])
        .filter_map(|s| s.trim().parse::<i64>().ok())
        .collect()
}

/// Splits a comma list of words.
pub fn word_list(text: &str) -> Vec<String> {
    text.split([',', '，'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub guid: String,
    pub zone_guid: String,
    pub status: i64,
    pub buy_status: i64,
    pub renew_status: i64,
    pub upgrade_status: i64,
    pub defense_status: i64,
    pub buy_order_max_num: i64,
    pub bandwidth_max_size: i64,
    pub ip_max_size: i64,
    pub ip_num_list: Vec<i64>,
    pub defense_max_size: i64,
    pub defense_step: i64,
    pub release_hour: i64,
    pub months: Vec<i64>,
    pub ip_upgrade_type: Vec<i64>,
    pub retention_days: i64,
    pub ip_bandwidth_rate: f64,
    pub reservation_degrade_status: i64,
    pub reservation_degrade_valid_limit: i64,
}

impl Line {
    pub fn from_doc(doc: &Doc) -> Line {
        Line {
            guid: text(doc, "guid").to_string(),
            zone_guid: text(doc, "line_guid").to_string(),
            status: int(doc, "status"),
            buy_status: int(doc, "buy_status"),
            renew_status: int(doc, "renew_status"),
            upgrade_status: int(doc, "upgrade_status"),
            defense_status: int(doc, "defense_status"),
            buy_order_max_num: int(doc, "buy_order_max_num"),
            bandwidth_max_size: int(doc, "bandwidth_max_size"),
            ip_max_size: int(doc, "ip_max_size"),
            ip_num_list: number_list(text(doc, "ip_num_list")),
            defense_max_size: int(doc, "defense_max_size"),
            defense_step: int(doc, "defense_step"),
            release_hour: int(doc, "release_hour"),
            months: number_list(text(doc, "months")),
            ip_upgrade_type: number_list(text(doc, "ip_upgrade_type")),
            retention_days: int(doc, "retention_days"),
            ip_bandwidth_rate: text(doc, "ip_bandwidth_rate").trim().parse().unwrap_or(0.0),
            reservation_degrade_status: int(doc, "reservation_degrade_status"),
            reservation_degrade_valid_limit: int(doc, "reservation_degrade_valid_limit"),
        }
    }

    /// Seconds an expired instance is kept before its resources are released.
    pub fn release_delay_seconds(&self) -> i64 {
        if self.release_hour > 0 {
            self.release_hour * 3600
        } else {
            self.retention_days.max(0) * 86_400
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub guid: String,
    pub name: String,
    pub line_guid: String,
    pub cpu_value: i64,
    pub memory_num: i64,
    pub system_partition_size: i64,
    pub system_partition_support: i64,
    pub ipnum: i64,
    pub bandwidth: i64,
    pub defense: i64,
    pub status: i64,
    pub stock_type: i64,
}

impl Product {
    pub fn from_doc(doc: &Doc) -> Product {
        Product {
            guid: text(doc, "guid").to_string(),
            name: text(doc, "name").to_string(),
            line_guid: text(doc, "line_guid").to_string(),
            cpu_value: int(doc, "cpu_value"),
            memory_num: int(doc, "memory_num"),
            system_partition_size: int(doc, "system_partition_size"),
            system_partition_support: int(doc, "system_partition_support"),
            ipnum: int(doc, "ipnum").max(1),
            bandwidth: int(doc, "bandwidth"),
            defense: int(doc, "defense"),
            status: int(doc, "status"),
            stock_type: int(doc, "stock_type"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub guid: String,
    pub id: String,
    pub class_guid: String,
    pub name: String,
    pub login_name: String,
    pub cpu_limit: i64,
    pub ram_limit: i64,
    pub types: Vec<String>,
    pub support: Vec<String>,
    pub lines: Vec<String>,
}

impl System {
    pub fn from_doc(doc: &Doc) -> System {
        System {
            guid: text(doc, "guid").to_string(),
            id: text(doc, "id").to_string(),
            class_guid: text(doc, "class_guid").to_string(),
            name: text(doc, "name").to_string(),
            login_name: text(doc, "login_name").to_string(),
            cpu_limit: int(doc, "cpu_limit"),
            ram_limit: int(doc, "ram_limit"),
            types: word_list(text(doc, "type")),
            support: word_list(text(doc, "support")),
            lines: doc
                .get("lines")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// What an OS image is asked for: a new order (`create`) or a reinstall
/// (`install`). Its `type` field must list the word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemUse {
    Create,
    Install,
}

impl SystemUse {
    /// The word the image's `type` lists.
    pub fn word(self) -> &'static str {
        match self {
            SystemUse::Create => "create",
            SystemUse::Install => "install",
        }
    }
}

/// The image checks `create` and `install` share, in one order, so both
/// refuse the same image with the same reason: it supports bare metal, it
/// is offered on the line, its `type` lists the use, and the product meets
/// its CPU and memory limits. `product` is `None` only for an instance
/// whose product left the catalog: there are no limits to compare then.
pub fn check_system(
    system: &System,
    use_: SystemUse,
    line_guid: &str,
    product: Option<&Product>,
) -> Result<(), RuleError> {
    if !system.support.iter().any(|s| s == "baremetal") {
        return Err(RuleError::SystemNotBaremetal {
            system: system.name.clone(),
            support: system.support.join(","),
        });
    }
    if !system.lines.iter().any(|l| l == line_guid) {
        return Err(RuleError::SystemNotOnLine {
            system: system.name.clone(),
            line: line_guid.to_string(),
        });
    }
    if !system.types.iter().any(|t| t == use_.word()) {
        return Err(match use_ {
            SystemUse::Create => RuleError::SystemNotForCreate {
                system: system.name.clone(),
            },
            SystemUse::Install => RuleError::SystemNotForInstall {
                system: system.name.clone(),
            },
        });
    }
    match product {
        Some(product) => check_system_limits(product, system),
        None => Ok(()),
    }
}

/// The product meets the OS image's minimum CPU cores and memory (0 = no limit).
pub fn check_system_limits(product: &Product, system: &System) -> Result<(), RuleError> {
    if system.cpu_limit > 0 && product.cpu_value < system.cpu_limit {
        return Err(RuleError::SystemCpuLimit {
            cpu: product.cpu_value,
            system: system.name.clone(),
            limit: system.cpu_limit,
        });
    }
    if system.ram_limit > 0 && product.memory_num < system.ram_limit {
        return Err(RuleError::SystemRamLimit {
            ram: product.memory_num,
            system: system.name.clone(),
            limit: system.ram_limit,
        });
    }
    Ok(())
}

/// A custom system partition of `size_mb` fits the product: it must
/// support partitions and the size must be 1 MB to its
/// `system_partition_size` GB.
pub fn check_custom_partition(product: &Product, size_mb: i64) -> Result<(), RuleError> {
    if product.system_partition_support != 1 {
        return Err(RuleError::PartitionUnsupported {
            product: product.name.clone(),
        });
    }
    let max = product.system_partition_size * 1024;
    if size_mb < 1 || size_mb > max {
        return Err(RuleError::PartitionSize {
            value: size_mb,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(cpu_value: i64, memory_num: i64, support: i64, partition_gb: i64) -> Product {
        Product {
            guid: "P".into(),
            name: "p".into(),
            line_guid: "L".into(),
            cpu_value,
            memory_num,
            system_partition_size: partition_gb,
            system_partition_support: support,
            ipnum: 1,
            bandwidth: 5,
            defense: 5,
            status: 1,
            stock_type: 1,
        }
    }

    fn system(cpu_limit: i64, ram_limit: i64) -> System {
        System {
            guid: "S".into(),
            id: "1".into(),
            class_guid: "C".into(),
            name: "win".into(),
            login_name: "administrator".into(),
            cpu_limit,
            ram_limit,
            types: vec!["create".into()],
            support: vec!["baremetal".into()],
            lines: vec![],
        }
    }

    #[test]
    fn system_limits() {
        let check = |p: Product, s: System| {
            check_system_limits(&p, &s)
                .err()
                .map(|e| e.reason().as_str())
        };
        assert_eq!(check(product(4, 8, 1, 50), system(4, 8)), None);
        assert_eq!(check(product(4, 8, 1, 50), system(0, 0)), None);
        assert_eq!(
            check(product(2, 8, 1, 50), system(4, 8)),
            Some("system_cpu_limit")
        );
        assert_eq!(
            check(product(4, 7, 1, 50), system(4, 8)),
            Some("system_ram_limit")
        );
    }

    #[test]
    fn custom_partitions() {
        let check = |p: Product, mb: i64| {
            check_custom_partition(&p, mb)
                .err()
                .map(|e| e.reason().as_str())
        };
        assert_eq!(check(product(4, 8, 1, 50), 51_200), None);
        assert_eq!(check(product(4, 8, 1, 50), 1), None);
        assert_eq!(
            check(product(4, 8, 1, 50), 51_201),
            Some("partition_size_invalid")
        );
        assert_eq!(
            check(product(4, 8, 1, 50), 0),
            Some("partition_size_invalid")
        );
        assert_eq!(
            check(product(4, 8, 0, 50), 1024),
            Some("partition_size_invalid")
        );
    }

    fn doc(v: serde_json::Value) -> Doc {
        match v {
            Value::Object(m) => m,
            _ => Doc::new(),
        }
    }

    #[test]
    fn a_line_is_read_from_its_record() {
        let line = Line::from_doc(&doc(serde_json::json!({
            "guid": "G", "line_guid": "Z", "status": "1", "buy_status": "1",
            "renew_status": "0", "upgrade_status": "1", "defense_status": "0",
            "buy_order_max_num": " 10 ", "bandwidth_max_size": "300.0",
            "ip_max_size": "200", "ip_num_list": "1,8，16", "defense_max_size": "300",
            "defense_step": "5", "release_hour": "2", "months": "1,3",
            "ip_upgrade_type": "1,2", "retention_days": "3",
            "ip_bandwidth_rate": " 0.5 ", "reservation_degrade_status": "1",
            "reservation_degrade_valid_limit": "15",
        })));
        assert_eq!(
            line,
            Line {
                guid: "G".into(),
                zone_guid: "Z".into(),
                status: 1,
                buy_status: 1,
                renew_status: 0,
                upgrade_status: 1,
                defense_status: 0,
                buy_order_max_num: 10,
                bandwidth_max_size: 300,
                ip_max_size: 200,
                ip_num_list: vec![1, 8, 16],
                defense_max_size: 300,
                defense_step: 5,
                release_hour: 2,
                months: vec![1, 3],
                ip_upgrade_type: vec![1, 2],
                retention_days: 3,
                ip_bandwidth_rate: 0.5,
                reservation_degrade_status: 1,
                reservation_degrade_valid_limit: 15,
            }
        );
        assert_eq!(line.release_delay_seconds(), 7200);
        let by_days = Line {
            release_hour: 0,
            ..line.clone()
        };
        assert_eq!(by_days.release_delay_seconds(), 3 * 86_400);
        let never = Line {
            release_hour: 0,
            retention_days: -1,
            ..line.clone()
        };
        assert_eq!(never.release_delay_seconds(), 0);
        // Missing or unreadable fields read as 0 and empty.
        let empty = Line::from_doc(&doc(serde_json::json!({"status": "x", "months": 3})));
        assert_eq!(
            (empty.status, empty.months.len(), empty.ip_bandwidth_rate),
            (0, 0, 0.0)
        );
    }

    #[test]
    fn a_product_and_a_system_are_read_from_their_records() {
        let p = Product::from_doc(&doc(serde_json::json!({
            "guid": "P", "name": "n", "line_guid": "L", "cpu_value": "8",
            "memory_num": "16", "system_partition_size": "50",
            "system_partition_support": "1", "ipnum": "0", "bandwidth": "10",
            "defense": "20", "status": "1", "stock_type": "2",
        })));
        assert_eq!(
            p,
            Product {
                guid: "P".into(),
                name: "n".into(),
                line_guid: "L".into(),
                cpu_value: 8,
                memory_num: 16,
                system_partition_size: 50,
                system_partition_support: 1,
                ipnum: 1,
                bandwidth: 10,
                defense: 20,
                status: 1,
                stock_type: 2,
            }
        );
        let two = Product::from_doc(&doc(serde_json::json!({"ipnum": "2"})));
        assert_eq!(two.ipnum, 2);
        let s = System::from_doc(&doc(serde_json::json!({
            "guid": "S", "id": "7", "class_guid": "C", "name": "CentOS",
            "login_name": "root", "cpu_limit": "2", "ram_limit": "4",
            "type": "create, install", "support": "baremetal",
            "lines": ["L1", 5, "L2"],
        })));
        assert_eq!(
            s,
            System {
                guid: "S".into(),
                id: "7".into(),
                class_guid: "C".into(),
                name: "CentOS".into(),
                login_name: "root".into(),
                cpu_limit: 2,
                ram_limit: 4,
                types: vec!["create".into(), "install".into()],
                support: vec!["baremetal".into()],
                lines: vec!["L1".into(), "L2".into()],
            }
        );
    }

    #[test]
    fn lists() {
        assert_eq!(number_list("1,8,16"), vec![1, 8, 16]);
        assert_eq!(number_list("1，2"), vec![1, 2]);
        assert_eq!(number_list(""), Vec::<i64>::new());
        assert_eq!(word_list("create,install"), vec!["create", "install"]);
        assert_eq!(word_list(" a ，, b"), vec!["a", "b"]);
        assert_eq!(number_list(" 4 ,x,5"), vec![4, 5]);
    }
}
