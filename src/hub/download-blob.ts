// Downloads one repository file into blobs/<etag>: bytes go to blobs/<etag>.incomplete and are renamed into place
// only once complete and of the announced size, so a crash never leaves a truncated blob that looks finished; a
// later run resumes the .incomplete file with a Range request (as huggingface_hub does).
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadFile } from '@huggingface/hub';
import { HubError } from './hub-errors.js';

export interface BlobRequest {
  repoId: string;
  commit: string;
  path: string;
  size: number;
  blobPath: string;
  hubUrl: string;
  accessToken?: string;
  onBytes?: (n: number) => void;
}

export async function downloadBlob(req: BlobRequest): Promise<void> {
  await mkdir(dirname(req.blobPath), { recursive: true });
  const incomplete = `${req.blobPath}.incomplete`;
  let have = existsSync(incomplete) ? statSync(incomplete).size : 0;
  if (have > req.size) {
    await rm(incomplete);
    have = 0;
  }
  const blob = await downloadFile({
    repo: { type: 'model', name: req.repoId },
    path: req.path,
    revision: req.commit,
    hubUrl: req.hubUrl,
    accessToken: req.accessToken,
  });
  if (!blob) throw new HubError(`${req.repoId}@${req.commit}: ${req.path} is listed but cannot be downloaded (404)`, 404);
  if (blob.size !== req.size) {
    throw new HubError(`${req.repoId}@${req.commit}: ${req.path} is ${blob.size} bytes, the file list said ${req.size}`);
  }
  req.onBytes?.(have);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      req.onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  const body = Readable.fromWeb((have > 0 ? blob.slice(have) : blob).stream() as import('node:stream/web').ReadableStream);
  let failure = '';
  // opened before the first byte: a connection that drops before any arrives still leaves the (empty) file to resume
  // from, not a missing one (a stream opening the file itself can be destroyed before its open completes)
  const file = await open(incomplete, have > 0 ? 'a' : 'w');
  try {
    await pipeline(body, counter, file.createWriteStream());
  } catch (err) {
    failure = ` (${err instanceof Error ? err.message : String(err)})`;
  }
  const got = statSync(incomplete).size;
  if (got > req.size) {
    // e.g. a mirror that answered a resume's Range request with the whole file
    await rm(incomplete);
    throw new HubError(`download of ${req.repoId}/${req.path} gave ${got} bytes for a ${req.size}-byte file${failure}; ` +
      'the partial file was removed, run again to download it whole');
  }
  if (got < req.size) {
    throw new HubError(`download of ${req.repoId}/${req.path} stopped at ${got} of ${req.size} bytes${failure}; ` +
      'run again to resume');
  }
  await rename(incomplete, req.blobPath);
}
