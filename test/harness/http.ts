/** One HTTP call as a test sees it: status, body as text and as JSON (when it is), headers; redirects not followed. */
export interface Reply {
  status: number;
  text: string;
  json: Record<string, any>;
  headers: Headers;
}

export async function call(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let json = {};
  try {
    json = JSON.parse(text);
  } catch {
    // a page
  }
  return { status: res.status, text, json, headers: res.headers };
}
