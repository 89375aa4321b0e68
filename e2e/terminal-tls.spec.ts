import { expect, test } from '@playwright/test';
import { makeTestPki } from '../packages/testkit/src/certs.js';
import { tlsEchoServer } from './servers.js';

test.beforeEach(({ page }) => {
  page.on('pageerror', (error) => {
    throw error;
  });
});

test("the terminal's TLS switch: a self-signed host's errors are put to the user, who goes on or disconnects", async ({ page }, info) => {
  const pki = makeTestPki();
  const server = await tlsEchoServer(18431, pki.selfSigned);
  try {
    await page.goto('/?host=127.0.0.1&port=18431&tls=1');
    await expect(page.getByLabel('TLS')).toBeChecked();
    // The handshake pauses on the certificate errors (PauseOnSslErrors) and the page asks.
    const panel = page.getByRole('alertdialog');
    await expect(panel).toContainText("The host's certificate is not trusted: The certificate is self-signed, and untrusted.");
    await expect(page.locator('#state')).toHaveText('ConnectedState');
    await expect(page.locator('#tls')).toHaveText('');
    await page.screenshot({ path: info.outputPath('terminal-tls-errors.png') });
    await panel.getByRole('button', { name: 'Continue anyway' }).click();
    await expect(panel).toBeHidden();
    await expect(page.locator('#tls')).toHaveText(/^TlsV1_3 · TLS_[A-Z0-9_]+ · localhost$/);
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('over TLS');
    await expect(page.locator('.xterm-rows')).toContainText('over TLS');
    await expect(page.getByRole('status')).toContainText('in 8 B');
    await page.screenshot({ path: info.outputPath('terminal-tls.png') });

    // Again, and this time the user does not trust it: the connection ends, nothing was encrypted.
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await expect(panel).toBeVisible();
    await panel.getByRole('button', { name: 'Disconnect' }).click();
    await expect(page.locator('#state')).toHaveText('UnconnectedState');
    await expect(page.locator('#tls')).toHaveText('');
    await expect(panel).toBeHidden();
  } finally {
    await server.close();
    pki.remove();
  }
});
