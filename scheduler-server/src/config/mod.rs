//! Configuration: a YAML file, then environment variables, then command-line
//! flags, each overriding the last.
//!
//! ```text
//! key                              env                                     flag
//! database.url                     SCHEDULER_DATABASE__URL                 --database-url
//! database.host/port/user/...      SCHEDULER_DATABASE__HOST, ...           -
//! database.max_connections         SCHEDULER_DATABASE__MAX_CONNECTIONS     --max-connections
//! api.host                         SCHEDULER_API__HOST                     --host
//! api.port                         SCHEDULER_API__PORT                     --port
//! api.public_url                   SCHEDULER_API__PUBLIC_URL               --public-url
//! api.allow_unauthenticated        SCHEDULER_API__ALLOW_UNAUTHENTICATED    -
//! api.request_timeout              SCHEDULER_API__REQUEST_TIMEOUT          -
//! api.max_connections              SCHEDULER_API__MAX_CONNECTIONS          -
//! api.shutdown_grace               SCHEDULER_API__SHUTDOWN_GRACE           -
//! auth.jwt_secret                  SCHEDULER_AUTH__JWT_SECRET              -
//! executors.access_token           SCHEDULER_EXECUTORS__ACCESS_TOKEN       -
//! executors.deny_networks          (file only: a list)                     -
//! scheduler.instance_id            SCHEDULER_SCHEDULER__INSTANCE_ID        --instance-id
//! scheduler.<other keys>           SCHEDULER_SCHEDULER__<KEY>              -
//! health_check.<keys>              SCHEDULER_HEALTH_CHECK__<KEY>           -
//! history.<keys>                   SCHEDULER_HISTORY__<KEY>                -
//! log.format (text | json)         SCHEDULER_LOG__FORMAT                   --log-format
//! ```
//!
//! Only environment variables with `__` in their name after the prefix are
//! configuration (so `SCHEDULER_TEST_MYSQL_URL` and friends are not mistaken
//! for keys); an unknown key there is an error like an unknown key in the
//! file. Durations are written `500ms`, `30s`, `5m`, `1h`, `1d`, or combined
//! (`1m30s`) — every form [`parse_duration`] (`humantime`) reads — and are at
//! most [`MAX_DURATION`] (a year).
//!
//! Environment values of string keys (URLs, secrets, names) are taken byte for
//! byte: `SCHEDULER_AUTH__JWT_SECRET=007` is the secret `007`, quotes included
//! if there are any. Values of numeric and boolean keys are parsed.
//!
//! The `Debug` output of every type here hides secrets (`auth.jwt_secret`,
//! `executors.access_token`, `database.password` and the password of
//! `database.url`), so a configuration can be logged.

mod duration;
mod load;
mod model;
mod validate;

pub use crate::alerts::{AlertsConfig, WebhookConfig};
pub use duration::{ConfigDuration, MAX_DURATION, parse_duration};
pub use load::{ConfigError, ENV_PREFIX, ENV_SEPARATOR, Overrides};
pub use model::*;
pub use validate::{MAX_API_CONNECTIONS, MAX_DB_CONNECTIONS, MAX_LOG_BYTES, MAX_WORKERS, MIN_JWT_SECRET_BYTES};
