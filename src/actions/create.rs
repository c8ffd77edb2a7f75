//! `create`: checks every documented rule, then takes stock units and one
//! primary IP per instance, all in the request's transaction.

use rusqlite::Transaction;
use serde_json::Value;

use super::{int_param, password_param, remember, replay, view, Ctx};
use crate::change::Change;
use crate::domain::catalog::{
    check_custom_partition, check_system, Line, Product, System, SystemUse,
};
use crate::domain::months::add_months;
use crate::domain::state::InstanceState;
use crate::domain::transition::TransitionKind;
use crate::protocol::{Params, Reason, Refusal};
use crate::store::instances::{self, Instance};
use crate::store::{catalog, network};

pub struct Create {
    line_guid: String,
    product_guid: String,
    system_guid: String,
    login_name: String,
    login_password: String,
    buy_remarks: String,
    months: i64,
    client_order_no: String,
    client_user_id: String,
    num: i64,
    system_partition_size: i64,
    agent_order_no: String,
}

impl Create {
    pub fn parse(p: &Params) -> Result<Create, Refusal> {
        Ok(Create {
            line_guid: p.required("lineGuid")?,
            product_guid: p.required("productGuid")?,
            system_guid: p.required("systemGuid")?,
            login_name: p.required("loginName")?,
            login_password: password_param(p, "loginPassword")?,
            buy_remarks: p.str("buyRemarks").unwrap_or_default(),
            months: int_param(p, "months", None)?,
            client_order_no: p.str("clientOrderNo").unwrap_or_default(),
            client_user_id: p.str("clientUserId").unwrap_or_default(),
            num: int_param(p, "num", None)?,
            system_partition_size: int_param(p, "system_partition_size", Some(-1))?,
            agent_order_no: p.required("agent_order_no")?,
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        if let Some(data) = replay(tx, ctx, &self.agent_order_no)? {
            return Ok(data);
        }
        let order = self.check_catalog(tx)?;
        self.check_terms(&order)?;
        let stock = self.free_stock(tx, &order.product)?;
        let end_time = add_months(ctx.now, self.months as u32, ctx.zone)
            .filter(|t| *t <= crate::clock::last_second(ctx.zone))
            .ok_or_else(|| Refusal::end_time_out_of_range(self.months, crate::clock::LAST_TIME))?;
        let mut out = Vec::with_capacity(stock.len());
        for unit in stock {
            out.push(self.open_one(tx, ctx, &order, end_time, unit)?);
        }
        let data = Value::Array(out);
        remember(tx, ctx, &self.agent_order_no, &data)?;
        Ok(data)
    }

    /// The line, product and system the order names, each for sale and
    /// fitting the others.
    fn check_catalog(&self, tx: &Transaction) -> Result<Order, Refusal> {
        let line = catalog::line(tx, &self.line_guid)?
            .filter(|l| l.status != -1)
            .ok_or_else(|| {
                Refusal::new(
                    Reason::LineNotFound,
                    format!("线路不存在：{}", self.line_guid),
                )
            })?;
        if line.status != 1 {
            return Err(Refusal::new(
                Reason::LineHidden,
                format!(
                    "线路 {} 已隐藏（status {}），不能购买",
                    line.guid, line.status
                ),
            ));
        }
        if line.buy_status != 1 {
            return Err(Refusal::new(
                Reason::LineNotForSale,
                format!("线路 {} 未开放购买（buy_status 0）", line.guid),
            ));
        }
        let (product, _) = catalog::product(tx, &self.product_guid)?.ok_or_else(|| {
            Refusal::new(
                Reason::ProductNotFound,
                format!("机型不存在：{}", self.product_guid),
            )
        })?;
        if product.line_guid != line.guid {
            return Err(Refusal::new(
                Reason::ProductNotOnLine,
                format!(
                    "机型 {} 属于线路 {}，不在线路 {} 上",
                    product.guid, product.line_guid, line.guid
                ),
            ));
        }
        if product.status != 1 {
            return Err(Refusal::new(
                Reason::ProductDisabled,
                format!("机型 {} 已禁用（status {}）", product.guid, product.status),
            ));
        }
        let system = catalog::system(tx, &self.system_guid)?.ok_or_else(|| {
            Refusal::new(
                Reason::SystemNotFound,
                format!("操作系统不存在：{}", self.system_guid),
            )
        })?;
        check_system(&system, SystemUse::Create, &line.guid, Some(&product))?;
        Ok(Order {
            line,
            product,
            system,
        })
    }

    /// The order's own terms against the line and product: months, count
    /// and partition size.
    fn check_terms(&self, order: &Order) -> Result<(), Refusal> {
        let Order { line, product, .. } = order;
        if !line.months.contains(&self.months) {
            return Err(Refusal::new(
                Reason::MonthsNotAllowed,
                format!(
                    "购买时长 {} 个月不在线路可选项 {:?} 中",
                    self.months, line.months
                ),
            ));
        }
        if self.num < 1 || self.num > line.buy_order_max_num {
            return Err(Refusal::new(
                Reason::NumOutOfRange,
                format!(
                    "购买数量 {} 须在 1 到 {}（buy_order_max_num）之间",
                    self.num, line.buy_order_max_num
                ),
            ));
        }
        if self.system_partition_size != -1 {
            check_custom_partition(product, self.system_partition_size)?;
        }
        Ok(())
    }

    /// One free stock unit per instance (id, cabinet_sn); `None` units when
    /// the product keeps no stock.
    fn free_stock(
        &self,
        tx: &Transaction,
        product: &Product,
    ) -> Result<Vec<Option<(String, String)>>, Refusal> {
        Ok(if product.stock_type == 1 {
            let free = instances::free_stock(tx, &product.guid, self.num)?;
            if (free.len() as i64) < self.num {
                return Err(Refusal::new(
                    Reason::OutOfStock,
                    format!(
                        "库存不足：机型 {} 剩余 {} 台，需要 {} 台",
                        product.name,
                        free.len(),
                        self.num
                    ),
                ));
            }
            free.into_iter().map(Some).collect()
        } else {
            vec![None; self.num as usize]
        })
    }

    /// Opens one instance: its row, its stock unit, its primary address and
    /// its provisioning and expiry transitions. Returns its `create` entry.
    fn open_one(
        &self,
        tx: &Transaction,
        ctx: &mut Ctx,
        order: &Order,
        end_time: i64,
        unit: Option<(String, String)>,
    ) -> Result<Value, Refusal> {
        let line = &order.line;
        let guid = ctx.unique_guid(tx)?;
        let inst = self.new_instance(ctx, order, guid.clone(), unit.clone(), end_time);
        let id = instances::insert(tx, &inst)?;
        if let Some((stock_id, _)) = &unit {
            if !instances::hold_stock(tx, stock_id, &guid)? {
                return Err(Refusal::internal(format!(
                    "stock unit {stock_id} taken twice"
                )));
            }
        }
        let Some(ip) = network::allocate_primary(tx, &line.guid, &guid, ctx.now)? else {
            return Err(crate::domain::RuleError::PoolExhausted {
                line: line.guid.clone(),
                size: 1,
            }
            .into());
        };
        ctx.record(Change::Created {
            guid: guid.clone(),
            stock_id: unit.map(|u| u.0),
        });
        let due = ctx.due(TransitionKind::Provisioned)?;
        ctx.schedule(tx, &guid, TransitionKind::Provisioned, due, None)?;
        ctx.schedule(tx, &guid, TransitionKind::Expired, end_time, None)?;
        let inst = Instance { id, ..inst };
        let fmt = |t| ctx.fmt(t);
        // A new instance's only IP is the one just allocated.
        Ok(view::created(tx, &inst, std::slice::from_ref(&ip), &fmt)?)
    }

    /// The row of a new order's instance, before it has an id.
    fn new_instance(
        &self,
        ctx: &Ctx,
        order: &Order,
        guid: String,
        unit: Option<(String, String)>,
        end_time: i64,
    ) -> Instance {
        let Order {
            line,
            product,
            system,
        } = order;
        let (stock_id, cabinet_sn) = unit.unzip();
        Instance {
            id: 0,
            guid,
            userid: ctx.userid.to_string(),
            product_guid: product.guid.clone(),
            line_guid: line.guid.clone(),
            system_guid: system.guid.clone(),
            stock_id,
            cabinet_sn: cabinet_sn.unwrap_or_default(),
            name: format!("API{}", product.name),
            client_user_id: self.client_user_id.clone(),
            client_order_no: self.client_order_no.clone(),
            agent_order_no: self.agent_order_no.clone(),
            login_name: self.login_name.clone(),
            login_password: self.login_password.clone(),
            system_partition_size: self.system_partition_size.to_string(),
            buy_remarks: self.buy_remarks.clone(),
            bandwidth: product.bandwidth,
            defense: product.defense,
            ipnum: product.ipnum,
            buy_time: ctx.now,
            start_time: ctx.now,
            end_time,
            order_status: InstanceState::NEW_ORDER.order_status,
            run_status: InstanceState::NEW_ORDER.run_status,
            act_status: InstanceState::NEW_ORDER.act_status,
            push_status: InstanceState::NEW_ORDER.push_status,
            lock_status: InstanceState::NEW_ORDER.lock_status,
            install_mode: "1".to_string(),
            deleted_at: None,
        }
    }
}

/// The catalog records an accepted order names.
struct Order {
    line: Line,
    product: Product,
    system: System,
}
