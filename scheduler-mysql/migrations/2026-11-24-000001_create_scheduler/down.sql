DROP TABLE IF EXISTS scheduler_instances;
DROP TABLE IF EXISTS load_balance_state;
DROP TABLE IF EXISTS task_executions;
DROP TABLE IF EXISTS task_executors;
DROP TABLE IF EXISTS executors;
DROP TABLE IF EXISTS tasks;
