/**
 * Where an operator downloads a write-off file on AWS: the stack's bucket (env WRITE_OFF_FILES_BUCKET).
 * S3 is not emulated locally: when the adapters point at local emulators (AWS_ENDPOINT_URL_DYNAMODB)
 * and no S3 endpoint is configured, the upload is skipped and the run log is the file.
 */
export const WRITE_OFF_BUCKET_ENV = 'WRITE_OFF_FILES_BUCKET';

export interface StoredFile {
  /** s3://bucket/key, or null when not uploaded. */
  location: string | null;
  note?: string;
}

export class FileStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FileStoreError';
  }
}

export function writeOffFileKey(runId: string): string {
  return `write-off/${runId}.txt`;
}

interface S3Module {
  S3Client: new (config: Record<string, unknown>) => { send(command: unknown): Promise<unknown> };
  PutObjectCommand: new (input: Record<string, unknown>) => unknown;
}

export async function storeWriteOffFile(runId: string, text: string): Promise<StoredFile> {
  const bucket = process.env[WRITE_OFF_BUCKET_ENV];
  if (!bucket) return { location: null, note: `no ${WRITE_OFF_BUCKET_ENV} configured: the file is in the run log (mass-refund report ${runId})` };
  if (process.env.AWS_ENDPOINT_URL_DYNAMODB && !process.env.AWS_ENDPOINT_URL_S3) {
    return { location: null, note: `S3 is not emulated locally: upload skipped, the file is in the run log (mass-refund report ${runId})` };
  }
  // The Lambda Node.js runtime ships the whole AWS SDK v3; the project does not bundle client-s3.
  const specifier = '@aws-sdk/client-s3';
  let s3: S3Module;
  try {
    s3 = (await import(specifier)) as S3Module;
  } catch (error) {
    throw new FileStoreError(`${specifier} is not available in this runtime`, { cause: error });
  }
  const key = writeOffFileKey(runId);
  await new s3.S3Client({}).send(new s3.PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: 'text/plain; charset=utf-8' }));
  return { location: `s3://${bucket}/${key}` };
}
