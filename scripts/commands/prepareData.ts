/**
 * `deltaflow prepare-data`: write the default MNIST CSV files (data/mnist-train.csv, data/mnist-test.csv)
 * from the digits the `mnist` package ships. `deltaflow train` does this by itself when they are missing.
 */
import { Command } from 'commander';
import { DEFAULT_DATA_DIR, ensureMnistCsv } from '../prepareData.js';

interface PrepareOptions {
  readonly dir: string;
  readonly force: boolean;
}

export function prepareDataCommand(): Command {
  return new Command('prepare-data')
    .description('write the 10,000 MNIST digits of the mnist package as CSV: 8,000 for training, 2,000 held out (a fixed seeded split)')
    .option('--dir <dir>', 'folder for mnist-train.csv and mnist-test.csv', DEFAULT_DATA_DIR)
    .option('--force', 'rewrite the files even when they exist', false)
    .action(async (options: PrepareOptions) => {
      const files = await ensureMnistCsv(options.dir, options.force);
      process.stdout.write(`${files.isCreated ? 'wrote' : 'kept existing'} ${files.train} (8000 digits) and ${files.test} (2000 digits)\n`);
    });
}
