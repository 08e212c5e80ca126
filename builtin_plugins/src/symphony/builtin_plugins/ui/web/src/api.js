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
  let document = null;
  try {
    document = text ? JSON.parse(text) : null;
  } catch {  // not JSON (a proxy's error page): its text is the detail
    throw new ApiError(response.status, { detail: `HTTP ${response.status}: ${text.slice(0, 200)}` });
  }
  if (!response.ok) throw new ApiError(response.status, document || {});
  return document;
}

export const segment = encodeURIComponent;
