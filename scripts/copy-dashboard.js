// The dashboard's page and styles go beside its compiled scripts in dist/dashboard: what a package or a copy of ferry ships.
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync('dist/dashboard', { recursive: true });
for (const file of ['index.html', 'style.css']) copyFileSync(`dashboard/${file}`, `dist/dashboard/${file}`);
