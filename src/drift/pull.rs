//! `apayun-mock seed pull`: a seed-data folder from an engine account's
//! catalog, read with read-only actions only. Zones, lines, systems (every
//! page), hard disks and products are written exactly as the engine sent
//! them. What the API does not show is made up, the same way every time:
//!
//! - members: one, the `--userid` given, with the key `mock-api-key`
//!   (the account's key is never written);
//! - stock: `--stock` units (default 10) for each product whose
//!   `stock_type` is 1 (sold from stock), none for `stock_type` 0;
//!   plus one unit for each imported instance;
//! - IP pools: per line, the /24 of the first instances' primary addresses
//!   (primary pool, with their gateway) and the /22 around their subnet
//!   blocks (subnet pool); every kind a line still lacks comes from the
//!   default range 10.K.0.0/16 (K counts the lines, skipping any /16 in
//!   use): primary 10.K.0.0/24, single 10.K.1.0/24 (gateways .1), subnet
//!   10.K.4.0/22;
//! - timings: the compiled-in profiles.
//!
//! `--with-instances` imports the account's instances (redacted; a
//! password never: every one gets the same placeholder) as running, with
//! their bandwidth, defense, primary address and upgrades.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::ExitCode;

use ipnet::Ipv4Net;
use serde_json::{json, Value};

use super::{as_int, fail, secrets_of, shown_url, Exchange, GatherError, Probe, Side};
use crate::args::SeedPullArgs;
use crate::client::Client;
use crate::seed::Seed;

/// The key the pulled seed's member gets: the mock's default, never the
/// account's own.
const MEMBER_KEY: &str = "mock-api-key";

/// Every imported instance's password (base64 of `mirrored-password`):
/// the engine's is never read into the seed.
const PLACEHOLDER_PASSWORD: &str = "bWlycm9yZWQtcGFzc3dvcmQ=";

/// What was read from the engine.
struct PulledCatalog {
    zones: Vec<Value>,
    lines: Vec<Value>,
    systems: Vec<Value>,
    harddisks: Vec<Value>,
    products: Vec<Value>,
    instances: Vec<Value>,
}

/// `apayun-mock seed pull`.
pub async fn cli(args: SeedPullArgs) -> ExitCode {
    let name = format!("the engine at {}", shown_url(&args.url));
    let side = Side {
        name: name.clone(),
        client: Client::new(&args.url, &args.userid, &args.key),
        secrets: secrets_of(&args.url, &args.key),
    };
    let catalog = match read_catalog(&side, args.max_pages).await {
        Ok(c) => c,
        Err(e) => return fail("seed pull", &name, e),
    };
    let files = mirror(&catalog, &args.userid, args.stock, args.with_instances);
    if let Err(e) = write(&args.out, &files.files) {
        eprintln!("apayun-mock seed pull: {e}");
        return ExitCode::from(2);
    }
    for note in &files.notes {
        eprintln!("apayun-mock seed pull: {note}");
    }
    if let Err(e) = Seed::from_dir(&args.out) {
        eprintln!(
            "apayun-mock seed pull: wrote {}, but the mock's seed validation refuses it: {e}\n\
             `apayun-mock drift` shows where the engine's answers differ from what the mock knows.",
            args.out.display()
        );
        return ExitCode::from(1);
    }
    println!(
        "wrote {}: {}, {}, {}, {}, {}, {}; made up {}, {} and member {} (key {MEMBER_KEY}).\n\
         Serve it: apayun-mock serve --seed-data {}",
        args.out.display(),
        count(catalog.zones.len(), "zone"),
        count(catalog.lines.len(), "line"),
        count(catalog.systems.len(), "system"),
        count(catalog.harddisks.len(), "hard disk"),
        count(catalog.products.len(), "product"),
        count(files.instances, "instance"),
        count(files.stock, "stock unit"),
        count(files.pools, "IP pool"),
        args.userid,
        args.out.display()
    );
    ExitCode::SUCCESS
}

fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The list at `pointer` in a successful answer, or why there is none.
fn list_of(ex: &Exchange, pointer: &str) -> Result<Vec<Value>, GatherError> {
    let action = ex.probe.action().wire();
    let Some(v) = ex.json() else {
        return Err(GatherError::Failed(format!(
            "{action} answered something that is not JSON"
        )));
    };
    if ex.code() != Some(0) {
        return Err(GatherError::Failed(format!(
            "{action} answered code {}: {}",
            v.get("code").unwrap_or(&Value::Null),
            v.get("message").unwrap_or(&Value::Null)
        )));
    }
    match v.pointer(pointer) {
        Some(Value::Array(items)) => Ok(items.clone()),
        // PHP encodes an empty list as `[]` but an empty map as `{}`.
        Some(Value::Object(o)) if o.is_empty() => Ok(Vec::new()),
        _ => Err(GatherError::Failed(format!(
            "{action}: the answer has no list at {pointer}"
        ))),
    }
}

async fn read_catalog(side: &Side, max_pages: u32) -> Result<PulledCatalog, GatherError> {
    let zones = list_of(&side.ask(Probe::Zones, json!({})).await?, "/data/zones")?;
    let lines = list_of(&side.ask(Probe::Lines, json!({})).await?, "/data")?;
    let harddisks = list_of(&side.ask(Probe::Harddisks, json!({})).await?, "/data")?;
    let products = list_of(&side.ask(Probe::Products, json!({})).await?, "/data")?;
    let mut systems = Vec::new();
    for page in 1..=max_pages.max(1) {
        let ex = side
            .ask(
                Probe::Systems,
                json!({"page_mode": page.to_string(), "page_length": "50"}),
            )
            .await?;
        systems.extend(list_of(&ex, "/data/systems")?);
        let pages = ex.data().and_then(|d| d.get("pages")).and_then(as_int);
        if pages.is_none_or(|p| i64::from(page) >= p) {
            break;
        }
    }
    let mut instances = Vec::new();
    for page in 1..=max_pages.max(1) {
        let ex = side
            .ask(
                Probe::InstancePages,
                json!({"page": page.to_string(), "number": "50"}),
            )
            .await?;
        let items = list_of(&ex, "/data/baremetal")?;
        let empty = items.is_empty();
        instances.extend(items);
        let pages = ex.data().and_then(|d| d.get("total_page")).and_then(as_int);
        if empty || pages.is_none_or(|p| i64::from(page) >= p) {
            break;
        }
    }
    Ok(PulledCatalog {
        zones,
        lines,
        systems,
        harddisks,
        products,
        instances,
    })
}

/// The seed files, and what was made up.
struct Mirror {
    files: Vec<(&'static str, Value)>,
    notes: Vec<String>,
    stock: usize,
    pools: usize,
    instances: usize,
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A field as text whether the engine sent `"1"` or `1`.
fn loose(v: &Value, field: &str) -> String {
    match v.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// An instance's addresses, from its `ip` list.
struct Addresses {
    primary: Option<(Ipv4Addr, Option<Ipv4Addr>)>,
    blocks: Vec<Ipv4Net>,
}

fn addresses(inst: &Value) -> Addresses {
    let mut out = Addresses {
        primary: None,
        blocks: Vec::new(),
    };
    for entry in inst
        .get("ip")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Ok(ip) = text(entry, "ip").parse::<Ipv4Addr>() else {
            continue;
        };
        let gateway = text(entry, "gateway").parse::<Ipv4Addr>().ok();
        if loose(entry, "is_default") == "1" && out.primary.is_none() {
            out.primary = Some((ip, gateway));
        } else if text(entry, "net_type") == "network" {
            let prefix = text(entry, "mask")
                .parse::<Ipv4Addr>()
                .ok()
                .and_then(|m| ipnet::ipv4_mask_to_prefix(m).ok());
            if let Some(net) = prefix.and_then(|p| Ipv4Net::new(ip, p).ok()) {
                out.blocks.push(net.trunc());
            }
        }
    }
    out
}

/// A pool under construction.
struct PoolDraft {
    line: String,
    kind: &'static str,
    net: Ipv4Net,
    gateway: Option<Ipv4Addr>,
}

impl PoolDraft {
    fn json(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("line_guid".into(), json!(self.line));
        map.insert("kind".into(), json!(self.kind));
        map.insert("cidr".into(), json!(self.net.to_string()));
        if let Some(gw) = self.gateway {
            map.insert("gateway".into(), json!(gw.to_string()));
        }
        map.insert("reserved".into(), json!([]));
        Value::Object(map)
    }
}

fn overlaps(pools: &[PoolDraft], net: Ipv4Net) -> bool {
    pools
        .iter()
        .any(|p| p.net.contains(&net) || net.contains(&p.net))
}

/// The pools of every line: from the instances' addresses first, then the
/// default range for what a line still lacks.
fn pools(lines: &[Value], instances: &[(String, &Value)]) -> Vec<PoolDraft> {
    let mut pools: Vec<PoolDraft> = Vec::new();
    for (line, inst) in instances {
        let addr = addresses(inst);
        if let Some((ip, gateway)) = addr.primary {
            let net = Ipv4Net::new(ip, 24).map(|n| n.trunc()).ok();
            if let Some(net) = net.filter(|n| !overlaps(&pools, *n)) {
                let gateway = gateway
                    .filter(|g| net.contains(g))
                    .unwrap_or_else(|| net.hosts().next().unwrap_or(ip));
                pools.push(PoolDraft {
                    line: line.clone(),
                    kind: "primary",
                    net,
                    gateway: Some(gateway),
                });
            }
        }
        for block in addr.blocks {
            let around = Ipv4Net::new(block.addr(), 22.min(block.prefix_len()))
                .map(|n| n.trunc())
                .ok();
            if let Some(net) = around.filter(|n| !overlaps(&pools, *n)) {
                pools.push(PoolDraft {
                    line: line.clone(),
                    kind: "subnet",
                    net,
                    gateway: None,
                });
            }
        }
    }
    let mut k: u8 = 0;
    for line in lines {
        let guid = text(line, "guid").to_string();
        let has = |pools: &[PoolDraft], kind: &str| {
            pools.iter().any(|p| p.line == guid && p.kind == kind)
        };
        let missing: Vec<&'static str> = ["primary", "single", "subnet"]
            .into_iter()
            .filter(|kind| !has(&pools, kind))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let Some(range) = next_free_range(&pools, &mut k) else {
            break;
        };
        default_pools(&mut pools, &guid, range, missing);
    }
    pools
}

/// The next 10.K.0.0/16 nobody uses, counting K up from `k`.
fn next_free_range(pools: &[PoolDraft], k: &mut u8) -> Option<Ipv4Net> {
    loop {
        let Ok(range) = Ipv4Net::new(Ipv4Addr::new(10, *k, 0, 0), 16) else {
            return None;
        };
        let free = !overlaps(pools, range);
        let next = k.checked_add(1);
        if free {
            *k = next.unwrap_or(*k);
            return Some(range);
        }
        match next {
            Some(n) => *k = n,
            None => return None,
        }
    }
}

/// A line's missing pools, laid out in `range`: primary 10.K.0.0/24,
/// single 10.K.1.0/24, subnet 10.K.4.0/22.
fn default_pools(
    pools: &mut Vec<PoolDraft>,
    guid: &str,
    range: Ipv4Net,
    missing: Vec<&'static str>,
) {
    let o = range.addr().octets();
    for kind in missing {
        let (third, prefix, gateway) = match kind {
            "primary" => (0, 24, Some(1)),
            "single" => (1, 24, Some(1)),
            _ => (4, 22, None),
        };
        let Ok(net) = Ipv4Net::new(Ipv4Addr::new(o[0], o[1], third, 0), prefix) else {
            continue;
        };
        pools.push(PoolDraft {
            line: guid.to_string(),
            kind,
            net,
            gateway: gateway.map(|g| Ipv4Addr::new(o[0], o[1], third, g)),
        });
    }
}

/// Months between two `YYYY-MM-DD HH:MM:SS` times, at least 1.
fn months_between(start: &str, end: &str) -> i64 {
    let ym = |t: &str| -> Option<i64> {
        let y: i64 = t.get(0..4)?.parse().ok()?;
        let m: i64 = t.get(5..7)?.parse().ok()?;
        Some(y * 12 + m)
    };
    match (ym(start), ym(end)) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => 1,
    }
}

/// A `114.114.8.16-23` upgrade value as the aligned block it names.
fn block_of(value: &str) -> Option<Ipv4Net> {
    let (first, last) = value.split_once('-')?;
    let first: Ipv4Addr = first.trim().parse().ok()?;
    let last: u8 = last.trim().parse().ok()?;
    let size = u32::from(last).checked_sub(u32::from(first.octets()[3]))? + 1;
    if size < 4 || !size.is_power_of_two() {
        return None;
    }
    let net = Ipv4Net::new(first, 32 - size.trailing_zeros() as u8).ok()?;
    (net.network() == first).then_some(net)
}

/// The stock units made up so far, numbered from 1.
#[derive(Default)]
struct StockBook {
    units: Vec<Value>,
}

impl StockBook {
    /// Adds a unit and returns its id.
    fn add(&mut self, product_guid: &str, cabinet_sn: String) -> String {
        let id = (self.units.len() + 1).to_string();
        self.units.push(json!({
            "id": id,
            "product_guid": product_guid,
            "cabinet_sn": cabinet_sn,
        }));
        id
    }
}

/// The seed's instances: each one whose system is in the catalog and whose
/// primary address lies in a pool of its line, with a stock unit of its
/// own. What cannot be carried over is said in `notes`.
fn import_instances(
    catalog: &PulledCatalog,
    placed: &[(String, &Value)],
    pools: &[PoolDraft],
    userid: &str,
    stock: &mut StockBook,
    notes: &mut Vec<String>,
) -> Vec<Value> {
    let systems: Vec<&str> = catalog.systems.iter().map(|s| text(s, "guid")).collect();
    let mut instances = Vec::new();
    for (i, (line, inst)) in placed.iter().enumerate() {
        let guid = text(inst, "guid");
        if !systems.contains(&text(inst, "system_guid")) {
            notes.push(format!(
                "instance {guid} skipped: its system is not in the catalog"
            ));
            continue;
        }
        let in_pool = |kind: &str, net: Ipv4Net| {
            pools
                .iter()
                .any(|p| p.line == *line && p.kind == kind && p.net.contains(&net))
        };
        let Some((primary, _)) = addresses(inst)
            .primary
            .filter(|(ip, _)| in_pool("primary", Ipv4Net::from(*ip)))
        else {
            notes.push(format!(
                "instance {guid} skipped: no primary address in a pool of its line"
            ));
            continue;
        };
        let upgrades = import_upgrades(guid, inst, &|b| in_pool("subnet", b), notes);
        let cabinet = match text(inst, "cabinet_sn") {
            "" => format!("mirror-instance-{}", i + 1),
            sn => sn.to_string(),
        };
        let stock_id = stock.add(text(inst, "product_guid"), cabinet);
        instances.push(json!({
            "id": inst.get("id").and_then(as_int).unwrap_or(i as i64 + 1),
            "guid": guid,
            "userid": userid,
            "product_guid": text(inst, "product_guid"),
            "system_guid": text(inst, "system_guid"),
            "stock_id": stock_id,
            // Redacted: the end customer's id is not copied.
            "client_user_id": "0",
            "login_password": PLACEHOLDER_PASSWORD,
            "months": months_between(text(inst, "start_time"), text(inst, "end_time")),
            "bandwidth": inst.get("bandwidth").and_then(as_int).unwrap_or(0),
            "defense": inst.get("defense").and_then(as_int).unwrap_or(0),
            "primary_ip": primary.to_string(),
            "upgrades": upgrades,
        }));
    }
    instances
}

/// An instance's active upgrade records as the seed holds them:
/// bandwidth, defense, and IP upgrades that are a subnet block in a subnet
/// pool of its line.
fn import_upgrades(
    guid: &str,
    inst: &Value,
    in_subnet_pool: &dyn Fn(Ipv4Net) -> bool,
    notes: &mut Vec<String>,
) -> Vec<Value> {
    let mut upgrades = Vec::new();
    for u in inst
        .get("upgrade")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if loose(u, "status") != "1" {
            continue;
        }
        let kind = text(u, "type");
        let nums = u.get("nums").and_then(as_int).unwrap_or(0);
        let order = loose(u, "order_no_api");
        match kind {
            "bandwidth" | "defense" => upgrades.push(json!({
                "type": kind, "nums": nums, "order_no_api": order,
            })),
            "ipnum" => match block_of(text(u, "value")).filter(|b| in_subnet_pool(*b)) {
                Some(block) => upgrades.push(json!({
                    "type": kind, "nums": nums, "subnet": block.to_string(),
                    "order_no_api": order,
                })),
                None => notes.push(format!(
                    "instance {guid}: IP upgrade {:?} left out (the seed holds subnet blocks only)",
                    text(u, "value")
                )),
            },
            other => notes.push(format!(
                "instance {guid}: upgrade of type {other:?} left out"
            )),
        }
    }
    upgrades
}

/// `per_product` made-up stock units of every product that keeps stock
/// (`stock_type` 1), in cabinets named after the product's id.
fn made_up_stock(products: &[Value], per_product: u32) -> StockBook {
    let mut stock = StockBook::default();
    for product in products.iter().filter(|p| loose(p, "stock_type") == "1") {
        for n in 1..=per_product {
            let cabinet = format!("mirror-{}-{n}", loose(product, "id"));
            stock.add(text(product, "guid"), cabinet);
        }
    }
    stock
}

fn mirror(
    catalog: &PulledCatalog,
    userid: &str,
    stock_per_product: u32,
    with_instances: bool,
) -> Mirror {
    let mut notes = Vec::new();
    let line_of_product = |guid: &str| {
        catalog
            .products
            .iter()
            .find(|p| text(p, "guid") == guid)
            .map(|p| text(p, "line_guid").to_string())
    };
    // Instances with a product of the catalog, and their lines.
    let placed: Vec<(String, &Value)> = catalog
        .instances
        .iter()
        .filter_map(|i| line_of_product(text(i, "product_guid")).map(|l| (l, i)))
        .collect();
    let pools = pools(&catalog.lines, &placed);
    let mut stock = made_up_stock(&catalog.products, stock_per_product);
    let instances = if with_instances {
        import_instances(catalog, &placed, &pools, userid, &mut stock, &mut notes)
    } else {
        Vec::new()
    };
    let member = json!([{"userid": userid, "api_key": MEMBER_KEY, "callback_url": null}]);
    let timings: Value =
        serde_json::from_str(include_str!("../../seed-data/timings.json")).unwrap_or(json!({}));
    let (n_stock, n_pools, n_instances) = (stock.units.len(), pools.len(), instances.len());
    Mirror {
        files: vec![
            ("users.json", member),
            ("zones.json", Value::Array(catalog.zones.clone())),
            ("lines.json", Value::Array(catalog.lines.clone())),
            ("systems.json", Value::Array(catalog.systems.clone())),
            ("harddisks.json", Value::Array(catalog.harddisks.clone())),
            ("products.json", Value::Array(catalog.products.clone())),
            ("stock.json", Value::Array(stock.units)),
            (
                "ip-pools.json",
                Value::Array(pools.iter().map(PoolDraft::json).collect()),
            ),
            ("timings.json", timings),
            ("instances.json", Value::Array(instances)),
        ],
        notes,
        stock: n_stock,
        pools: n_pools,
        instances: n_instances,
    }
}

fn write(dir: &Path, files: &[(&str, Value)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, value) in files {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_values_as_blocks() {
        assert_eq!(
            block_of("114.114.8.16-23"),
            "114.114.8.16/29".parse::<Ipv4Net>().ok()
        );
        assert_eq!(block_of("114.114.12.2-4"), None);
        assert_eq!(block_of("114.114.8.17-24"), None);
        assert_eq!(block_of("114.114.8.16"), None);
    }

    #[test]
    fn months() {
        assert_eq!(
            months_between("2021-08-17 16:57:43", "2021-09-17 16:57:43"),
            1
        );
        assert_eq!(
            months_between("2021-08-17 16:57:43", "2022-08-17 16:57:43"),
            12
        );
        assert_eq!(months_between("bad", "2022-08-17"), 1);
    }

    #[test]
    fn default_pools_avoid_the_instances_ranges() {
        let lines = vec![json!({"guid": "L1"}), json!({"guid": "L2"})];
        let inst = json!({"ip": [{"ip": "10.0.0.9", "gateway": "10.0.0.1", "is_default": "1",
                                  "net_type": "ip", "mask": "255.255.255.0"}]});
        let placed = vec![("L1".to_string(), &inst)];
        let got: Vec<String> = pools(&lines, &placed)
            .iter()
            .map(|p| format!("{} {} {}", p.line, p.kind, p.net))
            .collect();
        assert_eq!(
            got,
            [
                "L1 primary 10.0.0.0/24",
                "L1 single 10.1.1.0/24",
                "L1 subnet 10.1.4.0/22",
                "L2 primary 10.2.0.0/24",
                "L2 single 10.2.1.0/24",
                "L2 subnet 10.2.4.0/22",
            ]
        );
    }
}
