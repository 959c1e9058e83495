/**
 * `logtickets/dashboard`: the dashboard for an application that wants it in
 * its own process (an admin port, a report in a CI job), the same server and
 * report `logtickets serve` and `logtickets report` run.
 */

export { startDashboard, type Dashboard, type DashboardOptions } from './server.js';
export { buildReport, type ReportOptions } from './report.js';
export { DashboardApi, type DashboardSource, type DashboardStore } from './api.js';
export { ApiError } from './api-error.js';
