#!/usr/bin/env node
// Prints 1 when libibverbs' development headers are installed, else 0.
// binding.gyp builds the dmem_verbs addon only when this prints 1.
'use strict';
const fs = require('node:fs');
const dirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH || '').split(':').filter(Boolean)];
const found = dirs.some((dir) => fs.existsSync(`${dir}/infiniband/verbs.h`));
process.stdout.write(found ? '1' : '0');
