# The worker image: `docker build -t event-pipeline .` then `docker run event-pipeline run --Kafka:Topic=...`.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first, so the restore layer is reused until a dependency changes.
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY src/Stages/Stages.csproj src/Stages/
COPY src/Models/Models.csproj src/Models/
COPY src/DevTools/DevTools.csproj src/DevTools/
COPY src/Pipeline/Pipeline.csproj src/Pipeline/
RUN dotnet restore src/Pipeline/Pipeline.csproj
COPY src/ src/
RUN dotnet publish src/Pipeline -c Release -o /app --no-restore

# ASP.NET Core runtime, because the worker serves /metrics.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# 1654 is the unprivileged `app` user that the .NET images define.
USER 1654
EXPOSE 9464
ENTRYPOINT ["/app/pipeline"]
CMD ["run"]
