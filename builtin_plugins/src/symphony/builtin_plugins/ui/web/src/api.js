// The console's JSON API (/ui/api/v1): the session cookie or a bearer token authenticates every call.

export const BASE = '/ui/api/v1';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(BASE + path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const document = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, document || {});
  return document;
}

export const segment = encodeURIComponent;
