//! Loading: the YAML file, the `SCHEDULER_*__*` environment variables and the
//! command-line flags as figment providers, layered in that order, and the
//! error that names the key and where its value came from.

use super::{Config, LogFormat, redact_url};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use std::fmt;
use std::path::{Path, PathBuf};

/// Prefix of the environment variables read as configuration.
pub const ENV_PREFIX: &str = "SCHEDULER_";
/// Separator of nested keys in environment variable names.
pub const ENV_SEPARATOR: &str = "__";

/// Keys whose environment values are strings, kept exactly as written.
const STRING_KEYS: &[&str] = &[
    "database.url",
    "database.host",
    "database.user",
    "database.password",
    "database.dbname",
    "api.host",
    "api.public_url",
    "auth.jwt_secret",
    "scheduler.instance_id",
    "scheduler.lock_key",
    "executors.access_token",
];

/// A configuration that could not be loaded; the message names the key and
/// where its value came from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        // A figment error can carry several; the first one is the one to fix.
        let first = e.into_iter().next();
        match first {
            Some(e) => Self(describe_figment_error(&e)),
            None => Self::new("invalid configuration"),
        }
    }
}

fn describe_figment_error(e: &figment::Error) -> String {
    let key = (!e.path.is_empty()).then(|| e.path.join("."));
    let source = e.metadata.as_ref().map(|md| {
        let name = md.name.to_string();
        match (&md.source, &key) {
            (Some(figment::Source::File(path)), _) => format!("{name} {}", path.display()),
            (_, Some(k)) => {
                let keys: Vec<&str> = k.split('.').collect();
                match md.interpolate(&Profile::Default, &keys) {
                    i if i != *k => format!("{name} {i}"),
                    _ => name,
                }
            }
            _ => name,
        }
    });
    let what = e.kind.to_string();
    match (key, source) {
        (Some(k), Some(s)) => format!("configuration key `{k}` (from {s}): {what}"),
        (Some(k), None) => format!("configuration key `{k}`: {what}"),
        (None, Some(s)) => format!("configuration (from {s}): {what}"),
        (None, None) => format!("configuration: {what}"),
    }
}

/// Values given on the command line; `None` leaves the key alone.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--max-connections`.
    pub max_connections: Option<u32>,
    /// `--instance-id`.
    pub instance_id: Option<String>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overrides")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("public_url", &self.public_url)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("max_connections", &self.max_connections)
            .field("instance_id", &self.instance_id)
            .field("log_format", &self.log_format)
            .finish()
    }
}

impl Overrides {
    fn entries(&self) -> Vec<(&'static str, &'static str, Value)> {
        let mut out = Vec::new();
        let mut push = |key, flag, v: Option<Value>| {
            if let Some(v) = v {
                out.push((key, flag, v));
            }
        };
        push("api.host", "--host", self.host.clone().map(Value::from));
        push("api.port", "--port", self.port.map(Value::from));
        push(
            "api.public_url",
            "--public-url",
            self.public_url.clone().map(Value::from),
        );
        push(
            "database.url",
            "--database-url",
            self.database_url.clone().map(Value::from),
        );
        push(
            "database.max_connections",
            "--max-connections",
            self.max_connections.map(Value::from),
        );
        push(
            "scheduler.instance_id",
            "--instance-id",
            self.instance_id.clone().map(Value::from),
        );
        push(
            "log.format",
            "--log-format",
            self.log_format.map(|f| Value::from(f.as_str().to_owned())),
        );
        out
    }
}

impl Config {
    /// Loads the file (when given), then the `SCHEDULER_*__*` variables of
    /// `env`, then `overrides`, and validates the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::new(format!(
                    "configuration file {} does not exist or is not a file",
                    path.display()
                )));
            }
            figment = figment.merge(YamlFile(path.to_owned()));
        }
        figment = figment.merge(EnvLayer::new(env)).merge(FlagLayer(overrides.entries()));
        let config: Config = figment.extract()?;
        config.validate()?;
        Ok(config)
    }

    /// Loads from a YAML string only (tests and tools).
    pub fn from_yaml(yaml: &str) -> Result<Self, ConfigError> {
        let config: Config = Figment::new().merge(YamlString(yaml.to_owned())).extract()?;
        config.validate()?;
        Ok(config)
    }
}

/// The YAML file, read strictly (a missing file is an error, checked by the caller).
struct YamlFile(PathBuf);

impl Provider for YamlFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("YAML file", self.0.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let text = std::fs::read_to_string(&self.0)
            .map_err(|e| figment::Error::from(format!("cannot read {}: {e}", self.0.display())))?;
        yaml_dict(&text)
    }
}

/// YAML text given directly.
struct YamlString(String);

impl Provider for YamlString {
    fn metadata(&self) -> Metadata {
        Metadata::named("YAML text")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        yaml_dict(&self.0)
    }
}

/// YAML as a figment [`Format`](figment::providers::Format), read by
/// `yaml_serde` (the YAML organisation's continuation of `serde_yaml`), in
/// place of figment's own `yaml` feature, which pulls the deprecated and
/// unmaintained `serde_yaml`.
struct Yaml;

impl figment::providers::Format for Yaml {
    type Error = yaml_serde::Error;

    const NAME: &'static str = "YAML";

    fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Self::Error> {
        yaml_serde::from_str(text)
    }
}

// The error type is the one `Provider::data` must return.
#[allow(clippy::result_large_err)]
fn yaml_dict(text: &str) -> Result<Map<Profile, Dict>, figment::Error> {
    use figment::providers::Format;
    // An empty file (or one with only comments) is an empty configuration.
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    }) {
        return Ok(Map::new());
    }
    Yaml::string(text).data()
}

/// `SCHEDULER_SECTION__KEY=value` variables.
struct EnvLayer(Vec<(String, String)>);

impl EnvLayer {
    fn new(env: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = env
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(ENV_PREFIX)?;
                rest.contains(ENV_SEPARATOR)
                    .then(|| (rest.to_ascii_lowercase().replace(ENV_SEPARATOR, "."), v))
            })
            .collect();
        Self(vars)
    }
}

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_: &Profile, keys: &[&str]| {
            format!(
                "{ENV_PREFIX}{}",
                keys.iter()
                    .map(|k| k.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(ENV_SEPARATOR)
            )
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, value) in &self.0 {
            if key.split('.').any(str::is_empty) {
                return Err(figment::Error::from(format!(
                    "malformed environment variable name {ENV_PREFIX}{}",
                    key.to_ascii_uppercase().replace('.', ENV_SEPARATOR)
                )));
            }
            // String keys keep the text as written (`007` stays `007`, quotes
            // stay); other keys are parsed as YAML-like scalars. Parsing a
            // `Value` never fails (it falls back to a string).
            let v: Value = if STRING_KEYS.contains(&key.as_str()) {
                Value::from(value.clone())
            } else {
                value.parse().unwrap_or_else(|_| Value::from(value.clone()))
            };
            if let Some(nested) = figment::util::nest(key, v).into_dict() {
                dict = merge_dicts(dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn merge_dicts(mut a: Dict, b: Dict) -> Dict {
    for (k, v) in b {
        match (a.remove(&k), v) {
            (Some(Value::Dict(_, x)), Value::Dict(tag, y)) => {
                a.insert(k, Value::Dict(tag, merge_dicts(x, y)));
            }
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
    a
}

/// Command-line flags.
struct FlagLayer(Vec<(&'static str, &'static str, Value)>);

impl Provider for FlagLayer {
    fn metadata(&self) -> Metadata {
        let flags: Vec<(String, String)> = self
            .0
            .iter()
            .map(|(k, f, _)| ((*k).to_owned(), (*f).to_owned()))
            .collect();
        Metadata::named("command-line flag").interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            flags
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(key.clone(), |(_, f)| f.clone())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, _, value) in &self.0 {
            if let Some(nested) = figment::util::nest(key, value.clone()).into_dict() {
                dict = merge_dicts(dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}
