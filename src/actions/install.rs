//! `install`: reinstall on a stopped or running instance. `installType`
//! must be `replace` when the OS class or the partition layout changes,
//! `install` otherwise; `install_mode` must be 1.

use rusqlite::Transaction;
use serde_json::{json, Value};

use super::{int_param, password_param, Ctx};
use crate::domain::catalog::{check_custom_partition, check_system, System, SystemUse};
use crate::domain::state::{self, Op};
use crate::protocol::{Params, Reason, Refusal};
use crate::store::catalog;
use crate::store::instances::Instance;

pub struct Install {
    guid: String,
    system_guid: String,
    login_password: String,
    system_partition_size: i64,
    install_type: String,
    install_mode: String,
}

impl Install {
    pub fn parse(p: &Params) -> Result<Install, Refusal> {
        let install_type = p.required("installType")?;
        if install_type != "install" && install_type != "replace" {
            return Err(Refusal::bad_param(
                "installType",
                format!("只能为 install 或 replace，收到 {install_type:?}"),
            ));
        }
        Ok(Install {
            guid: p.required("guid")?,
            system_guid: p.required("systemGuid")?,
            login_password: password_param(p, "loginPassword")?,
            system_partition_size: int_param(p, "system_partition_size", None)?,
            install_type,
            install_mode: p.required("install_mode")?,
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let mut inst = ctx.instance(tx, &self.guid)?;
        state::check(Op::Install, inst.state())?;
        if self.install_mode != "1" {
            return Err(Refusal::new(
                Reason::InstallModeUnsupported,
                format!("install_mode {} 不支持：目前只支持 1", self.install_mode),
            ));
        }
        let system = catalog::system(tx, &self.system_guid)?.ok_or_else(|| {
            Refusal::new(
                Reason::SystemNotFound,
                format!("操作系统不存在：{}", self.system_guid),
            )
        })?;
        // The image checks of `create`, in its order, then the partition
        // (create, too, checks the image's limits before the size).
        let product = catalog::product(tx, &inst.product_guid)?.map(|(p, _)| p);
        check_system(
            &system,
            SystemUse::Install,
            &inst.line_guid,
            product.as_ref(),
        )?;
        if let Some(product) = product.as_ref().filter(|_| self.system_partition_size > 0) {
            check_custom_partition(product, self.system_partition_size)?;
        }
        if self.system_partition_size < -1 {
            return Err(Refusal::bad_param(
                "system_partition_size",
                "须为 -1（全盘分区）、0（使用第一分区）或正的 MB 数",
            ));
        }
        self.check_install_type(tx, &inst, &system)?;
        // The new system takes over when the install completes.
        let pending = crate::lifecycle::PendingInstall {
            system_guid: system.guid.clone(),
            login_name: system.login_name.clone(),
            login_password: self.login_password,
            system_partition_size: self.system_partition_size.to_string(),
            install_mode: self.install_mode,
        };
        let reference = pending.encode();
        ctx.begin(tx, &mut inst, Op::Install, Some(&reference))?;
        Ok(json!({}))
    }

    /// `installType` is `replace` when the OS class or the partition layout
    /// changes, `install` otherwise.
    fn check_install_type(
        &self,
        tx: &Transaction,
        inst: &Instance,
        system: &System,
    ) -> Result<(), Refusal> {
        let old_class = catalog::system(tx, &inst.system_guid)?
            .map(|s| s.class_guid)
            .unwrap_or_default();
        let class_changes = old_class != system.class_guid;
        let layout_changes = self.system_partition_size != 0;
        let needed = if class_changes || layout_changes {
            "replace"
        } else {
            "install"
        };
        if self.install_type != needed {
            let why = if class_changes {
                "操作系统类型不一致".to_string()
            } else if layout_changes {
                format!(
                    "重新分区（system_partition_size {}）",
                    self.system_partition_size
                )
            } else {
                "操作系统类型一致且使用原分区".to_string()
            };
            return Err(Refusal::new(
                Reason::InstallTypeMismatch,
                format!("{why}，installType 须为 {needed}"),
            ));
        }
        Ok(())
    }
}
