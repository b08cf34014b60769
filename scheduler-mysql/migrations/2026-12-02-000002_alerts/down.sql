DROP TABLE alert_keys;
DROP TABLE alerts;
