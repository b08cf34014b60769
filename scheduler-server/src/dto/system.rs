//! System status, scheduler instances, the schedule preview and the probes.

use super::common::*;
use scheduler_core::SystemStatus;
use serde::Serialize;
use utoipa::ToSchema;

/// A scheduler instance.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Instance)]
pub struct InstanceDto {
    /// Instance id.
    pub instance_id: String,
    /// Host name.
    pub hostname: String,
    /// Leader at its last heartbeat.
    pub is_leader: bool,
    /// Heartbeat within the last three intervals.
    pub alive: bool,
    /// Start time.
    pub started_at: Timestamp,
    /// Last heartbeat.
    pub last_heartbeat: Timestamp,
}

/// The scheduler part of the system status.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SchedulerStatus)]
pub struct SchedulerStatusDto {
    /// The instance that answered.
    pub instance_id: String,
    /// Whether it leads.
    pub leader: bool,
    /// Every known instance.
    pub instances: Vec<InstanceDto>,
}

/// Executor counts.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ExecutorCounts)]
pub struct ExecutorCountsDto {
    /// All executors.
    pub total: u64,
    /// `online`.
    pub online: u64,
    /// `offline`.
    pub offline: u64,
    /// `maintenance`.
    pub maintenance: u64,
    /// Healthy.
    pub healthy: u64,
    /// Unhealthy.
    pub unhealthy: u64,
}

/// Task counts.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = TaskCounts)]
pub struct TaskCountsDto {
    /// Active tasks.
    pub active: u64,
    /// Paused tasks.
    pub paused: u64,
}

/// Execution counts.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ExecutionCounts)]
pub struct ExecutionCountsDto {
    /// Pending executions.
    pub pending: u64,
    /// Running executions.
    pub running: u64,
}

/// `GET /system/status`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SystemStatus)]
pub struct SystemStatusDto {
    /// Leader and instances.
    pub scheduler: SchedulerStatusDto,
    /// Executor counts.
    pub executors: ExecutorCountsDto,
    /// Task counts.
    pub tasks: TaskCountsDto,
    /// Execution counts.
    pub executions: ExecutionCountsDto,
}

impl From<SystemStatus> for SystemStatusDto {
    fn from(s: SystemStatus) -> Self {
        let c = s.counts;
        Self {
            scheduler: SchedulerStatusDto {
                instance_id: s.instance_id,
                leader: s.leader,
                instances: s
                    .instances
                    .into_iter()
                    .map(|i| InstanceDto {
                        instance_id: i.instance_id,
                        hostname: i.hostname,
                        is_leader: i.is_leader,
                        alive: i.alive,
                        started_at: ts(i.started_at),
                        last_heartbeat: ts(i.last_heartbeat),
                    })
                    .collect(),
            },
            executors: ExecutorCountsDto {
                total: c.executors_total,
                online: c.executors_online,
                offline: c.executors_offline,
                maintenance: c.executors_maintenance,
                healthy: c.executors_healthy,
                unhealthy: c.executors_unhealthy,
            },
            tasks: TaskCountsDto {
                active: c.tasks_active,
                paused: c.tasks_paused,
            },
            executions: ExecutionCountsDto {
                pending: c.executions_pending,
                running: c.executions_running,
            },
        }
    }
}

/// Upcoming fire instants of a cron expression.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SchedulePreview {
    /// The next instants, in order.
    pub items: Vec<Timestamp>,
}

/// `/healthz` and `/readyz`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProbeStatus {
    /// `ok` or `unavailable`.
    pub status: String,
}
