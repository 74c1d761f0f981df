/** The replication suite's statistics are the reports' (src/service/report/stats.ts). */
export * from '../../src/service/report/stats';
