//! Read calls for dashboards and other tools: every instance of every member
//! (`GET /_mock/instances`), one instance with its addresses, subnets,
//! records and pending transitions (`GET /_mock/instances/{guid}`), the
//! catalog an order form needs (`GET /_mock/catalog`) and the members with
//! their callback URLs (`GET /_mock/users`). Here only the query is read
//! and the answer rendered; the engine reads the views
//! (`engine/views.rs`). Keys and passwords are never part of an answer.

use axum::extract::RawQuery;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::path::{ControlPath, GuidParam};
use super::{Admin, AdminError, ControlReply};
use crate::engine::views::ListFilter;
use crate::protocol::control::{query_count_schema, query_int_schema, query_limit_schema};
use crate::protocol::{whole, Reason};

pub fn routes() -> Router<std::sync::Arc<crate::registry::Registry>> {
    Router::new()
        .route("/instances", get(list))
        .route("/instances/{guid}", get(detail))
        .route("/catalog", get(catalog_view))
        .route("/users", get(users))
}

/// Most instances one list answer holds.
const MAX_LIMIT: i64 = 5000;
const DEFAULT_LIMIT: i64 = 500;

/// The query of `GET /_mock/instances` (and its OpenAPI parameters).
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    userid: Option<String>,
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_int_schema)]
    order_status: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_int_schema)]
    run_status: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_int_schema)]
    act_status: Option<i64>,
    /// 1 to 5000 (default 500).
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_limit_schema)]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_count_schema)]
    offset: Option<i64>,
}

/// `GET /_mock/instances?userid=&order_status=&run_status=&act_status=&limit=&offset=`
async fn list(admin: Admin, RawQuery(raw): RawQuery) -> ControlReply {
    let q: ListQuery = super::input::query(raw.as_deref())?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) || q.offset.is_some_and(|o| o < 0) {
        return Err(AdminError::bad_request(
            Reason::BadQuery,
            format!("limit must be 1 to {MAX_LIMIT} and offset at least 0"),
        ));
    }
    let filter = ListFilter {
        userid: q.userid,
        order_status: q.order_status,
        run_status: q.run_status,
        act_status: q.act_status,
    };
    let offset = q.offset.unwrap_or(0);
    Ok(Json(admin.engine.instance_list(filter, offset, limit).await?).into_response())
}

/// `GET /_mock/instances/{guid}`: whichever member owns it.
async fn detail(
    admin: Admin,
    ControlPath(GuidParam { guid }): ControlPath<GuidParam>,
) -> ControlReply {
    Ok(Json(admin.engine.instance_detail(guid).await?).into_response())
}

/// `GET /_mock/catalog`: zones, lines, products (with their stock) and OS
/// images, each record as the engine's own catalog calls serve it.
async fn catalog_view(admin: Admin) -> ControlReply {
    Ok(Json(admin.engine.catalog().await?).into_response())
}

/// `GET /_mock/users`: every member and its callback URL (never its key).
async fn users(admin: Admin) -> ControlReply {
    Ok(Json(admin.engine.users().await?).into_response())
}
