/** The CloudWatch metrics a backup run publishes (`dump --publish-metric`); the stacks alarm on them. */
export const BACKUP_METRIC_NAMESPACE = "Ecommerce/Backups";
export const BACKUP_METRICS = { completed: "BackupsCompleted", bytes: "BackupBytes" } as const;
export const BACKUP_METRIC_DIMENSION = "Database";
