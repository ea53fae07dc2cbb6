#!/usr/bin/env node
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('ferry: dist/ is missing. Run `npm run build` (npm install does it for you).');
    process.exit(2);
  }
  throw error;
});
