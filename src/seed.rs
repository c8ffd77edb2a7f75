//! Seed data: the catalog, members, stock units, IP pools, transition
//! timings and pre-existing instances an engine starts from. The default set
//! in `seed-data/` is compiled into the binary; `--seed-data DIR` replaces it.
//! Loading validates every record and every reference, and names the file,
//! the record and the field of the first problem.

use crate::domain::transition::TransitionKind;
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::catalog::Doc;

/// The exact fields of each catalog kind, in the order the engine sends them.
pub const ZONE_FIELDS: &[&str] = &[
    "guid",
    "name",
    "max_year",
    "identityStatus",
    "whiteListStatus",
    "icp_status",
];
pub const LINE_FIELDS: &[&str] = &[
    "id",
    "line_type",
    "guid",
    "api_guid",
    "line_guid",
    "type_guid",
    "status",
    "name",
    "code",
    "descript",
    "intro_url",
    "buy_status",
    "renew_status",
    "upgrade_status",
    "defense_status",
    "buy_order_max_num",
    "auto_user_dns",
    "sort_id",
    "life_time",
    "bandwidth_share_size",
    "bandwidth_share_price",
    "bandwidth_price_api",
    "bandwidth_price",
    "bandwidth_max_size",
    "ip_min_size",
    "ip_max_size",
    "ip_free_size",
    "ip_price",
    "ip_price_api",
    "ip_num_list",
    "defense_price_api",
    "defense_price",
    "defense_max_size",
    "defense_num_list",
    "defense_step",
    "release_hour",
    "months",
    "ipmi_server_id",
    "idc_line_id",
    "move_status",
    "ip_upgrade_type",
    "user_vnc",
    "retention_days",
    "bandwidth_in_type",
    "bandwidth_in_value",
    "discount1",
    "discount2",
    "discount3",
    "line_auth",
    "ip_bandwidth_rate",
    "reservation_degrade_status",
    "reservation_degrade_valid_limit",
];
pub const SYSTEM_FIELDS: &[&str] = &[
    "distinct_id",
    "id",
    "guid",
    "class_guid",
    "name",
    "login_name",
    "port",
    "mirror_name",
    "cpu_limit",
    "ram_limit",
    "type",
    "system_harddisk",
    "support",
    "boot_menu_contents",
    "ghost_url",
    "lines",
];
pub const HARDDISK_FIELDS: &[&str] = &[
    "id",
    "line_type",
    "guid",
    "api_guid",
    "type",
    "size",
    "status",
];
pub const PRODUCT_FIELDS: &[&str] = &[
    "id",
    "product_type",
    "guid",
    "api_guid",
    "name",
    "line_guid",
    "line_guid_api",
    "cpu_value",
    "cpu",
    "cpu_num",
    "cpu_max_num",
    "memory",
    "memory_num",
    "memory_max_num",
    "harddisk_guid",
    "harddisk_max_num",
    "system_partition_size",
    "system_partition_support",
    "raid_tips",
    "ipnum",
    "bandwidth",
    "defense",
    "sort_id",
    "main_board",
    "price",
    "price_api",
    "size",
    "description",
    "status",
    "upgrade_status",
    "recommend_status",
    "stock_type",
    "cpu_ids",
    "memory_ids",
    "harddisk_ids",
    "cpu_threads",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub userid: String,
    pub api_key: String,
    #[serde(default)]
    pub callback_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedStock {
    pub id: String,
    pub product_guid: String,
    pub cabinet_sn: String,
}

/// What an IP pool hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// One primary IP per new instance.
    Primary,
    /// Single IPs for upgrades with `ip_type` 1.
    Single,
    /// Aligned blocks for upgrades with `ip_type` 2.
    Subnet,
}

impl PoolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolKind::Primary => "primary",
            PoolKind::Single => "single",
            PoolKind::Subnet => "subnet",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPool {
    pub line_guid: String,
    pub kind: PoolKind,
    pub cidr: String,
    /// Gateway of primary and single pools; subnet blocks use their own second address.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Ranges (CIDR) never handed out.
    #[serde(default)]
    pub reserved: Vec<String>,
}

/// Delays in seconds of simulated time for each asynchronous transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    pub provision: i64,
    pub stop: i64,
    pub start: i64,
    pub restart: i64,
    pub setpass: i64,
    pub install: i64,
    pub upgrade: i64,
}

impl Timings {
    /// Every transition due at once: the `fast` profile when the seed
    /// defines none.
    pub const INSTANT: Timings = Timings {
        provision: 0,
        stop: 0,
        start: 0,
        restart: 0,
        setpass: 0,
        install: 0,
        upgrade: 0,
    };

    /// How long after the request `kind` falls due. `None`: the kind falls
    /// due at a date (the end time, the release after it, the purge after a
    /// deletion, a degrade's date), not after a delay.
    pub fn delay(&self, kind: TransitionKind) -> Option<i64> {
        use TransitionKind as K;
        match kind {
            K::Provisioned => Some(self.provision),
            K::Stopped => Some(self.stop),
            K::Started => Some(self.start),
            K::Restarted => Some(self.restart),
            K::PasswordSet => Some(self.setpass),
            K::Installed => Some(self.install),
            K::Upgraded => Some(self.upgrade),
            K::Degraded | K::Expired | K::Released | K::Purged => None,
        }
    }
}

/// An instance that exists when the engine starts (the document's example).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedInstance {
    pub id: i64,
    pub guid: String,
    pub userid: String,
    pub product_guid: String,
    pub system_guid: String,
    pub stock_id: String,
    pub client_user_id: String,
    pub login_password: String,
    /// Months between start and end; the start is one day before the engine starts.
    pub months: i64,
    pub bandwidth: i64,
    pub defense: i64,
    pub primary_ip: String,
    #[serde(default)]
    pub upgrades: Vec<SeedUpgrade>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUpgrade {
    #[serde(rename = "type")]
    pub kind: String,
    pub nums: i64,
    /// For `ipnum`: the subnet as CIDR, e.g. `114.114.8.16/29`.
    #[serde(default)]
    pub subnet: Option<String>,
    pub order_no_api: String,
}

/// A whole, validated seed set.
#[derive(Debug, Clone)]
pub struct Seed {
    pub users: Vec<SeedUser>,
    pub zones: Vec<Doc>,
    pub lines: Vec<Doc>,
    pub systems: Vec<Doc>,
    pub harddisks: Vec<Doc>,
    pub products: Vec<Doc>,
    pub stock: Vec<SeedStock>,
    pub ip_pools: Vec<SeedPool>,
    pub timings: BTreeMap<String, Timings>,
    pub instances: Vec<SeedInstance>,
}

/// The first problem found in a seed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seed data {file}: {record}: {field}: {problem}")]
pub struct SeedError {
    pub file: String,
    pub record: String,
    pub field: String,
    pub problem: String,
}

fn err(
    file: &str,
    record: impl Into<String>,
    field: &str,
    problem: impl Into<String>,
) -> SeedError {
    SeedError {
        file: file.to_string(),
        record: record.into(),
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// One record of a seed file, as a `SeedError` names it.
struct SeedRecord {
    file: &'static str,
    name: String,
}

impl SeedRecord {
    fn err(&self, field: &str, problem: impl Into<String>) -> SeedError {
        err(self.file, self.name.clone(), field, problem)
    }
}

const DEFAULT_FILES: &[(&str, &str)] = &[
    ("users.json", include_str!("../seed-data/users.json")),
    ("zones.json", include_str!("../seed-data/zones.json")),
    ("lines.json", include_str!("../seed-data/lines.json")),
    ("systems.json", include_str!("../seed-data/systems.json")),
    (
        "harddisks.json",
        include_str!("../seed-data/harddisks.json"),
    ),
    ("products.json", include_str!("../seed-data/products.json")),
    ("stock.json", include_str!("../seed-data/stock.json")),
    ("ip-pools.json", include_str!("../seed-data/ip-pools.json")),
    ("timings.json", include_str!("../seed-data/timings.json")),
    (
        "instances.json",
        include_str!("../seed-data/instances.json"),
    ),
];

impl Seed {
    /// The compiled-in default seed set.
    pub fn default_set() -> Result<Seed, SeedError> {
        Seed::from_sources(|name| {
            DEFAULT_FILES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| err(name, "-", "-", "missing from the compiled-in set"))
        })
    }

    /// A seed set from a folder; `instances.json` may be absent.
    pub fn from_dir(dir: &Path) -> Result<Seed, SeedError> {
        Seed::from_sources(|name| {
            let path = dir.join(name);
            if name == "instances.json" && !path.exists() {
                return Ok("[]".to_string());
            }
            std::fs::read_to_string(&path).map_err(|e| {
                err(
                    &path.display().to_string(),
                    "-",
                    "-",
                    format!("cannot read: {e}"),
                )
            })
        })
    }

    fn from_sources(read: impl Fn(&str) -> Result<String, SeedError>) -> Result<Seed, SeedError> {
        fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, SeedError> {
            serde_json::from_str(text).map_err(|e| {
                err(
                    file,
                    format!("line {}", e.line()),
                    "-",
                    format!("invalid JSON for this file: {e}"),
                )
            })
        }
        let seed = Seed {
            users: parse("users.json", &read("users.json")?)?,
            zones: parse("zones.json", &read("zones.json")?)?,
            lines: parse("lines.json", &read("lines.json")?)?,
            systems: parse("systems.json", &read("systems.json")?)?,
            harddisks: parse("harddisks.json", &read("harddisks.json")?)?,
            products: parse("products.json", &read("products.json")?)?,
            stock: parse("stock.json", &read("stock.json")?)?,
            ip_pools: parse("ip-pools.json", &read("ip-pools.json")?)?,
            timings: parse("timings.json", &read("timings.json")?)?,
            instances: parse("instances.json", &read("instances.json")?)?,
        };
        seed.validate()?;
        Ok(seed)
    }

    /// Checks every record's fields and every reference between files.
    pub fn validate(&self) -> Result<(), SeedError> {
        let userids = self.check_users()?;
        let zones = check_docs("zones.json", &self.zones, ZONE_FIELDS, &[])?;
        let lines = check_docs("lines.json", &self.lines, LINE_FIELDS, &[])?;
        let systems = check_docs(
            "systems.json",
            &self.systems,
            SYSTEM_FIELDS,
            &["boot_menu_contents", "ghost_url", "lines"],
        )?;
        let disks = check_docs("harddisks.json", &self.harddisks, HARDDISK_FIELDS, &[])?;
        let products = check_docs("products.json", &self.products, PRODUCT_FIELDS, &[])?;
        self.check_lines(&zones)?;
        self.check_systems(&lines)?;
        self.check_products(&lines, &disks)?;
        self.check_stock(&products)?;
        let mut pool_nets: Vec<Ipv4Net> = Vec::new();
        for (i, pool) in self.ip_pools.iter().enumerate() {
            check_pool(i, pool, &lines, &mut pool_nets)?;
        }
        self.check_timings()?;
        let known = Known {
            userids: &userids,
            products: &products,
            systems: &systems,
        };
        let mut held = Held::default();
        for (i, inst) in self.instances.iter().enumerate() {
            self.check_instance(i, inst, &known, &mut held)?;
        }
        Ok(())
    }

    /// `users.json`: userids present and unique, keys present.
    fn check_users(&self) -> Result<HashSet<String>, SeedError> {
        let mut userids = HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            let rec = format!("record {i} (userid {})", u.userid);
            if u.userid.trim().is_empty() {
                return Err(err("users.json", rec, "userid", "must not be empty"));
            }
            if u.api_key.is_empty() {
                return Err(err("users.json", rec, "api_key", "must not be empty"));
            }
            if !userids.insert(u.userid.clone()) {
                return Err(err("users.json", rec, "userid", "duplicate userid"));
            }
        }
        Ok(userids)
    }

    /// `lines.json`: a known zone, and number lists that are number lists.
    fn check_lines(&self, zones: &HashSet<&str>) -> Result<(), SeedError> {
        for (i, line) in self.lines.iter().enumerate() {
            let zone = doc_str(line, "line_guid");
            if !zones.contains(zone) {
                return Err(err(
                    "lines.json",
                    rec_name(i, line),
                    "line_guid",
                    format!("unknown zone {zone}"),
                ));
            }
            for field in ["months", "ip_num_list", "ip_upgrade_type"] {
                let text = doc_str(line, field);
                if crate::domain::catalog::number_list(text).len()
                    != text
                        .split([',', '，'])
                        .filter(|s| !s.trim().is_empty())
                        .count()
                {
                    return Err(err(
                        "lines.json",
                        rec_name(i, line),
                        field,
                        format!("not a comma list of numbers: {text:?}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `systems.json`: known lines, and the two structured fields.
    fn check_systems(&self, lines: &HashSet<&str>) -> Result<(), SeedError> {
        for (i, system) in self.systems.iter().enumerate() {
            let Some(list) = system.get("lines").and_then(Value::as_array) else {
                return Err(err(
                    "systems.json",
                    rec_name(i, system),
                    "lines",
                    "must be an array of line GUIDs",
                ));
            };
            for l in list {
                let g = l.as_str().unwrap_or("");
                if !lines.contains(g) {
                    return Err(err(
                        "systems.json",
                        rec_name(i, system),
                        "lines",
                        format!("unknown line {l}"),
                    ));
                }
            }
            for field in ["boot_menu_contents", "ghost_url"] {
                if !matches!(
                    system.get(field),
                    Some(Value::Object(_)) | Some(Value::Null)
                ) {
                    return Err(err(
                        "systems.json",
                        rec_name(i, system),
                        field,
                        "must be an object or null",
                    ));
                }
            }
        }
        Ok(())
    }

    /// `products.json`: a known line and known hard disks.
    fn check_products(
        &self,
        lines: &HashSet<&str>,
        disks: &HashSet<&str>,
    ) -> Result<(), SeedError> {
        for (i, product) in self.products.iter().enumerate() {
            let line = doc_str(product, "line_guid");
            if !lines.contains(line) {
                return Err(err(
                    "products.json",
                    rec_name(i, product),
                    "line_guid",
                    format!("unknown line {line}"),
                ));
            }
            for disk in doc_str(product, "harddisk_guid")
                .split(',')
                .filter(|s| !s.is_empty())
            {
                if !disks.contains(disk.trim()) {
                    return Err(err(
                        "products.json",
                        rec_name(i, product),
                        "harddisk_guid",
                        format!("unknown harddisk {disk}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `stock.json`: units of known products, ids unique.
    fn check_stock(&self, products: &HashSet<&str>) -> Result<(), SeedError> {
        let mut stock_ids = HashSet::new();
        for (i, unit) in self.stock.iter().enumerate() {
            let rec = format!("record {i} (id {})", unit.id);
            if !products.contains(unit.product_guid.as_str()) {
                return Err(err(
                    "stock.json",
                    rec,
                    "product_guid",
                    format!("unknown product {}", unit.product_guid),
                ));
            }
            if !stock_ids.insert(unit.id.clone()) {
                return Err(err("stock.json", rec, "id", "duplicate stock id"));
            }
        }
        Ok(())
    }

    /// `timings.json`: a `default` profile, no negative delay.
    fn check_timings(&self) -> Result<(), SeedError> {
        if !self.timings.contains_key("default") {
            return Err(err(
                "timings.json",
                "-",
                "default",
                "a `default` profile is required",
            ));
        }
        for (name, t) in &self.timings {
            if TransitionKind::ALL
                .into_iter()
                .filter_map(|k| t.delay(k))
                .any(|d| d < 0)
            {
                return Err(err(
                    "timings.json",
                    name.clone(),
                    "-",
                    "delays must not be negative",
                ));
            }
        }
        Ok(())
    }

    /// One record of `instances.json`: known references, its own stock
    /// unit and primary address, and its upgrades.
    fn check_instance(
        &self,
        i: usize,
        inst: &SeedInstance,
        known: &Known,
        held: &mut Held,
    ) -> Result<(), SeedError> {
        let rec = SeedRecord {
            file: "instances.json",
            name: format!("record {i} (guid {})", inst.guid),
        };
        if !held.guids.insert(inst.guid.clone()) {
            return Err(rec.err("guid", "duplicate guid"));
        }
        Self::check_instance_refs(&rec, inst, known)?;
        self.check_instance_stock(&rec, inst, held)?;
        let line_guid = self
            .products
            .iter()
            .find(|p| doc_str(p, "guid") == inst.product_guid)
            .map(|p| doc_str(p, "line_guid"))
            .unwrap_or_default();
        let pool_of = |kind: PoolKind, net: Ipv4Net| {
            self.ip_pools.iter().any(|p| {
                p.kind == kind
                    && p.line_guid == line_guid
                    && p.cidr.parse::<Ipv4Net>().is_ok_and(|pn| pn.contains(&net))
            })
        };
        let Ok(primary) = inst.primary_ip.parse::<Ipv4Addr>() else {
            return Err(rec.err("primary_ip", "not an IPv4 address"));
        };
        if !pool_of(PoolKind::Primary, Ipv4Net::from(primary)) {
            let problem = format!("{primary} is in no primary pool of line {line_guid}");
            return Err(rec.err("primary_ip", problem));
        }
        if !held.ips.insert(primary) {
            let problem = format!("{primary} is held by another instance");
            return Err(rec.err("primary_ip", problem));
        }
        for u in &inst.upgrades {
            check_seeded_upgrade(&rec, u, line_guid, &pool_of, &mut held.blocks)?;
        }
        Ok(())
    }

    /// An instance's user, product and system are defined in the other
    /// seed files.
    fn check_instance_refs(
        rec: &SeedRecord,
        inst: &SeedInstance,
        known: &Known,
    ) -> Result<(), SeedError> {
        if !known.userids.contains(&inst.userid) {
            return Err(rec.err("userid", format!("unknown user {}", inst.userid)));
        }
        if !known.products.contains(inst.product_guid.as_str()) {
            let problem = format!("unknown product {}", inst.product_guid);
            return Err(rec.err("product_guid", problem));
        }
        if !known.systems.contains(inst.system_guid.as_str()) {
            let problem = format!("unknown system {}", inst.system_guid);
            return Err(rec.err("system_guid", problem));
        }
        Ok(())
    }

    /// An instance's stock unit is of its product and held by no other
    /// instance.
    fn check_instance_stock(
        &self,
        rec: &SeedRecord,
        inst: &SeedInstance,
        held: &mut Held,
    ) -> Result<(), SeedError> {
        match self.stock.iter().find(|s| s.id == inst.stock_id) {
            Some(s) if s.product_guid == inst.product_guid => {}
            _ => {
                let problem = format!("no stock unit {} of that product", inst.stock_id);
                return Err(rec.err("stock_id", problem));
            }
        }
        if !held.stock.insert(inst.stock_id.clone()) {
            let problem = format!("stock unit {} is held by another instance", inst.stock_id);
            return Err(rec.err("stock_id", problem));
        }
        Ok(())
    }

    pub fn timings(&self, profile: &str) -> Option<Timings> {
        if profile == "fast" && !self.timings.contains_key("fast") {
            return Some(Timings::INSTANT);
        }
        self.timings.get(profile).copied()
    }
}

/// What the other seed files define, for checking instances against.
struct Known<'a> {
    userids: &'a HashSet<String>,
    products: &'a HashSet<&'a str>,
    systems: &'a HashSet<&'a str>,
}

/// What the seeded instances checked so far hold: no two may share a GUID,
/// a stock unit, an address or a subnet.
#[derive(Default)]
struct Held {
    guids: HashSet<String>,
    stock: HashSet<String>,
    ips: HashSet<Ipv4Addr>,
    blocks: Vec<Ipv4Net>,
}

/// One record of `ip-pools.json`: a known line, a CIDR without host bits
/// that overlaps no other pool, a gateway inside it where one is needed,
/// reserved ranges inside it.
fn check_pool(
    i: usize,
    pool: &SeedPool,
    lines: &HashSet<&str>,
    pool_nets: &mut Vec<Ipv4Net>,
) -> Result<(), SeedError> {
    let rec = SeedRecord {
        file: "ip-pools.json",
        name: format!("record {i} ({} {})", pool.kind.as_str(), pool.cidr),
    };
    if !lines.contains(pool.line_guid.as_str()) {
        return Err(rec.err("line_guid", format!("unknown line {}", pool.line_guid)));
    }
    let net: Ipv4Net = pool
        .cidr
        .parse()
        .map_err(|_| rec.err("cidr", format!("not an IPv4 CIDR: {}", pool.cidr)))?;
    if net.network() != net.addr() {
        let problem = format!("host bits set; did you mean {}?", net.trunc());
        return Err(rec.err("cidr", problem));
    }
    if let Some(other) = pool_nets
        .iter()
        .find(|o| o.contains(&net) || net.contains(*o))
    {
        return Err(rec.err("cidr", format!("overlaps another pool {other}")));
    }
    pool_nets.push(net);
    check_pool_gateway(&rec, pool, net)?;
    for r in &pool.reserved {
        let rnet: Ipv4Net = r
            .parse()
            .map_err(|_| rec.err("reserved", format!("not an IPv4 CIDR: {r}")))?;
        if !net.contains(&rnet) {
            return Err(rec.err("reserved", format!("{r} is outside {net}")));
        }
    }
    Ok(())
}

/// A pool's gateway: required for primary and single pools, an address
/// inside the pool wherever it is given.
fn check_pool_gateway(rec: &SeedRecord, pool: &SeedPool, net: Ipv4Net) -> Result<(), SeedError> {
    match (&pool.gateway, pool.kind) {
        (None, PoolKind::Primary | PoolKind::Single) => {
            Err(rec.err("gateway", "required for primary and single pools"))
        }
        (Some(gw), _) => {
            let addr: Ipv4Addr = gw
                .parse()
                .map_err(|_| rec.err("gateway", format!("not an IPv4 address: {gw}")))?;
            if !net.contains(&addr) {
                return Err(rec.err("gateway", format!("{gw} is outside {net}")));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One upgrade of a seeded instance: a known type; an `ipnum` upgrade's
/// subnet lies in a subnet pool of the instance's line and overlaps no
/// other seeded subnet.
fn check_seeded_upgrade(
    rec: &SeedRecord,
    u: &SeedUpgrade,
    line_guid: &str,
    pool_of: &dyn Fn(PoolKind, Ipv4Net) -> bool,
    held_blocks: &mut Vec<Ipv4Net>,
) -> Result<(), SeedError> {
    if !["bandwidth", "defense", "ipnum"].contains(&u.kind.as_str()) {
        return Err(rec.err("upgrades.type", format!("unknown upgrade type {}", u.kind)));
    }
    if u.kind == "ipnum"
        && u.subnet
            .as_deref()
            .and_then(|s| s.parse::<Ipv4Net>().ok())
            .is_none()
    {
        return Err(rec.err("upgrades.subnet", "an ipnum upgrade needs a subnet CIDR"));
    }
    if let Some(block) = u.subnet.as_deref().and_then(|s| s.parse::<Ipv4Net>().ok()) {
        if !pool_of(PoolKind::Subnet, block) {
            return Err(rec.err(
                "upgrades.subnet",
                format!("{block} is in no subnet pool of line {line_guid}"),
            ));
        }
        if held_blocks
            .iter()
            .any(|b: &Ipv4Net| b.contains(&block) || block.contains(b))
        {
            return Err(rec.err(
                "upgrades.subnet",
                format!("{block} overlaps another seeded subnet"),
            ));
        }
        held_blocks.push(block);
    }
    Ok(())
}

fn doc_str<'a>(doc: &'a Doc, field: &str) -> &'a str {
    doc.get(field).and_then(Value::as_str).unwrap_or("")
}

fn rec_name(i: usize, doc: &Doc) -> String {
    format!("record {i} (guid {})", doc_str(doc, "guid"))
}

/// Checks that each document has exactly `fields`, that values are strings
/// or null (except `structured` fields), and that GUIDs are unique.
fn check_docs<'a>(
    file: &str,
    docs: &'a [Doc],
    fields: &[&str],
    structured: &[&str],
) -> Result<HashSet<&'a str>, SeedError> {
    let mut guids = HashSet::new();
    for (i, doc) in docs.iter().enumerate() {
        let rec = rec_name(i, doc);
        for f in fields {
            if !doc.contains_key(*f) {
                return Err(err(file, rec, f, "missing field"));
            }
        }
        for (key, value) in doc {
            if !fields.contains(&key.as_str()) {
                return Err(err(
                    file,
                    rec,
                    key,
                    "unknown field (the engine does not send it)",
                ));
            }
            if !structured.contains(&key.as_str())
                && !matches!(value, Value::String(_) | Value::Null)
            {
                return Err(err(
                    file,
                    rec,
                    key,
                    "must be a string or null, as the engine sends it",
                ));
            }
        }
        let guid = doc_str(doc, "guid");
        if guid.is_empty() {
            return Err(err(file, rec, "guid", "must be a non-empty string"));
        }
        if !guids.insert(guid) {
            return Err(err(file, rec, "guid", "duplicate guid"));
        }
    }
    Ok(guids)
}
