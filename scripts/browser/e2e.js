// Upload a file through the demo site's upload page in headless Chromium, check it is
// listed and served, delete it, check it is gone. Screenshots go to OUT.
const { chromium } = require('playwright-core');
const [BASE, FILE, OUT] = process.argv.slice(2);
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 900, height: 500 } });
  await page.goto(BASE + '/upload.html');
  await page.setInputFiles('input[type=file]', FILE);
  await page.click('button[type=submit]');
  await page.waitForSelector('a:has-text("browser-test.txt")');
  console.log('status after upload:', await page.textContent('#status'));
  await page.screenshot({ path: OUT + '/e2e-uploaded.png' });
  const href = await page.getAttribute('a:has-text("browser-test.txt")', 'href');
  const body = await (await page.request.get(BASE + href)).text();
  console.log('GET', href, '->', JSON.stringify(body));
  await page.click('tr:has-text("browser-test.txt") button');
  await page.waitForSelector('a:has-text("browser-test.txt")', { state: 'detached' });
  console.log('status after delete:', await page.textContent('#status'));
  await page.screenshot({ path: OUT + '/e2e-deleted.png' });
  await browser.close();
})().catch(e => { console.error(e); process.exit(1); });
