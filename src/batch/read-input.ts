// Batch input from a local file or an http(s) URL (OpenAI batch files are often staged on object storage).
import { readFile } from 'node:fs/promises';

export async function readBatchInput(source: string): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    let res: Response;
    try {
      res = await fetch(source);
    } catch (e) {
      throw new Error(`could not fetch the batch input ${source}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new Error(`could not fetch the batch input ${source}: HTTP ${res.status} ${res.statusText}`);
    return res.text();
  }
  try {
    return await readFile(source, 'utf8');
  } catch (e) {
    throw new Error(`could not read the batch input ${source}: ${(e as Error).message}`);
  }
}
