import { resolve } from 'node:path';
import { DEFAULT_MAX_CONTENT_LENGTH, RunningServer, startServer } from '../../model/serve';
import { XGBoostModel, XGBoostModelError, readXGBoostModelFile } from '../../model/xgboost';
import { parseOptions, requireOption, UsageError, type Command, type CommandIO } from '../command';
import { summaryOf } from '../catalog';

/** Resolves when the server should stop; by default on SIGINT or SIGTERM. */
export type WaitForStop = (server: RunningServer, io: CommandIO) => Promise<void>;

const untilSignal: WaitForStop = () => new Promise((resolveStop) => {
  const stop = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    resolveStop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
});

/** The serve command; tests inject `waitForStop` to stop it without signals. */
export function createServeCommand(waitForStop: WaitForStop = untilSignal): Command {
  return {
    name: 'serve',
    summary: summaryOf('serve'),
    usage: `Usage: deploy-guard serve --model FILE [--port N] [--host HOST]

Answers like a SageMaker endpoint running the built-in XGBoost container (sagemaker-xgboost 1.7-1),
scoring with the exact local scorer:
  GET  /ping                  200
  GET  /execution-parameters  the batch-transform parameters
  POST /invocations           Content-Type: text/csv rows (no header); Accept: text/csv (default) for
                              one probability per line, or application/json for
                              {"predictions": [{"score": p}, ...]}; the container's status codes and
                              messages for an empty body (204), rows that do not parse or an unknown
                              Content-Type (415), more columns than features (400) and an unsupported
                              Accept (406)
Runs until interrupted (Ctrl-C, SIGTERM).

--model FILE  XGBoost JSON model (binary:logistic), or a model.tar.gz holding one
--port N      port to listen on (default 8080, the container's; 0 picks a free one)
--host HOST   address to bind (default 127.0.0.1; the container binds 0.0.0.0)

Honours the container's SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, SAGEMAKER_BATCH and MAX_CONTENT_LENGTH
(default ${DEFAULT_MAX_CONTENT_LENGTH} bytes) environment variables.

Example:
  deploy-guard serve --model out/xgboost-model --port 8080 &
  curl -s -H 'Content-Type: text/csv' --data-binary @rows.csv http://127.0.0.1:8080/invocations`,
    async run(argv, io) {
      const options = parseOptions(argv, { model: 'value', port: 'value', host: 'value' });
      const modelFile = resolve(io.cwd, requireOption(options, 'model'));
      const port = options.port === undefined ? 8080 : Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`option '--port' needs a port number 0-65535, got '${String(options.port)}'`);
      const host = typeof options.host === 'string' ? options.host : '127.0.0.1';
      const maxContentLength = process.env.MAX_CONTENT_LENGTH === undefined ? undefined : Number(process.env.MAX_CONTENT_LENGTH);
      if (maxContentLength !== undefined && !(Number.isInteger(maxContentLength) && maxContentLength > 0)) {
        io.stderr.write(`deploy-guard serve: MAX_CONTENT_LENGTH must be a positive integer, got '${process.env.MAX_CONTENT_LENGTH}'\n`);
        return 2;
      }

      let model: XGBoostModel;
      try {
        model = readXGBoostModelFile(modelFile);
      } catch (error) {
        if (error instanceof XGBoostModelError || (error as NodeJS.ErrnoException).code !== undefined) {
          io.stderr.write(`deploy-guard serve: cannot use model ${modelFile}: ${(error as Error).message}\n`);
          return 1;
        }
        throw error;
      }
      let server: RunningServer;
      try {
        server = await startServer({
          model,
          port,
          host,
          maxContentLength,
          defaultAccept: process.env.SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT || undefined,
          batch: Boolean(process.env.SAGEMAKER_BATCH),
          log: (line) => io.stderr.write(`${line}\n`),
        });
      } catch (error) {
        io.stderr.write(`deploy-guard serve: cannot listen on ${host}:${port}: ${(error as Error).message}\n`);
        return 1;
      }
      io.stdout.write(`deploy-guard serve: listening on ${server.url} (${model.forest.treeCount} trees, ${model.featureCount} features)\n`);
      await waitForStop(server, io);
      await server.close();
      return 0;
    },
  };
}

export const serveCommand: Command = createServeCommand();
