/** The login form (when TANDEM_CONSOLE_TOKEN is set) and the error page. */
import { html, type Html } from '../html.ts';
import { errorBox } from './layout.ts';

export function loginPage(next: string, error?: string): Html {
  return html`<h1>Log in</h1>
<p>This console asks for the token it was started with (<code>TANDEM_CONSOLE_TOKEN</code>).</p>
${errorBox(error)}
<form method="post" action="/login" class="form narrow">
  <input type="hidden" name="next" value="${next}">
  <label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
  <button type="submit">Log in</button>
</form>`;
}

export function errorPage(status: number, message: string): Html {
  return html`<h1>${status === 404 ? 'Not found' : status === 503 ? 'Unavailable' : 'Something went wrong'}</h1>
${errorBox(message)}
<p><a href="/">Back to the overview</a></p>`;
}
