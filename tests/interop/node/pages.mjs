// Helpers shared by the node interop scripts: a browser without JavaScript (a cookie jar,
// form fields and actions read from Tessera's server-rendered pages) and the RFC 6749 §5.2 /
// RFC 6750 `error` of a failed openid-client call.

/** A minimal cookie jar: name → value, fed by every response's Set-Cookie headers. */
export class Jar {
  constructor() {
    this.cookies = new Map();
  }
  take(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export function unescape(s) {
  return s
    .replaceAll('&quot;', '"')
    .replaceAll('&#x27;', "'")
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

export function field(page, name) {
  const m = page.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no ${name} field in page: ${page}`);
  return unescape(m[1]);
}

/** Every hidden field of the page's form, as a browser would post them. */
export function hiddenFields(page) {
  const fields = {};
  for (const m of page.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescape(m[1])] = unescape(m[2]);
  }
  return fields;
}

export function action(base, page) {
  const m = page.match(/<form method="post" action="([^"]*)"/);
  if (!m) throw new Error(`no form in page: ${page}`);
  return new URL(unescape(m[1]), base);
}

export async function browse(jar, url, form) {
  const init = { redirect: 'manual', headers: { cookie: jar.header() } };
  if (form) {
    init.method = 'POST';
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
    init.body = new URLSearchParams(form).toString();
  }
  const response = await fetch(url, init);
  jar.take(response);
  return response;
}

// The RFC 6749 §5.2 / RFC 6750 `error` of a failed openid-client call: a 401 with
// `WWW-Authenticate` comes as a challenge error carrying the response, whose JSON body has it.
export async function errorCode(e) {
  let error = e.error;
  if (error === undefined && e.response) {
    try {
      error = (await e.response.clone().json()).error;
    } catch {
      // not JSON
    }
  }
  return { error: error ?? e.code ?? e.name, status: e.status, message: String(e.message) };
}
