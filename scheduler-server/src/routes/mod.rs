//! The handlers of the REST API (docs/reference/api.md), one module per resource.

pub(crate) mod alerts;
pub(crate) mod executions;
pub(crate) mod executors;
pub(crate) mod system;
pub(crate) mod tasks;

use crate::error::ApiError;
use crate::extract::QueryParams;
use scheduler_core::Page;

/// Largest `page_size`.
pub const MAX_PAGE_SIZE: u32 = 200;
/// Default `page_size`.
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// Largest `page` (the document's integers are 32-bit signed).
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// `page` (1..=2^31-1, default 1) and `page_size` (1..=200, default 20).
pub(crate) fn take_page(q: &mut QueryParams) -> Result<Page, ApiError> {
    let page = q.int_in("page", 1, 1, MAX_PAGE)?;
    let page_size = q.int_in("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)?;
    Ok(Page::new(page, page_size))
}

/// Parses an enum query parameter with the core's `parse`, naming the values on error.
pub(crate) fn take_enum<T>(
    q: &mut QueryParams,
    name: &str,
    parse: fn(&str) -> Option<T>,
    values: &[&str],
) -> Result<Option<T>, ApiError> {
    q.parse(name, parse, &format!("must be one of {}", values.join(", ")))
}
