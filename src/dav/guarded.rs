//! The crate's `GuardedFileSystem` trait implemented by [`DepositFs`]: each call resolves the
//! request path for its principal and hands over to the deposit file system's own methods.

use std::time::SystemTime;

use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavMetaData, DavProp, FsError, FsFuture, FsResult, FsStream,
    GuardedFileSystem, OpenOptions, ReadDirMeta,
};
use futures_util::FutureExt;
use http::StatusCode;

use super::context::DavContext;
use super::fs::DepositFs;

impl GuardedFileSystem<DavContext> for DepositFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            let node = self.node(path, ctx);
            if options.write || options.append || options.create || options.create_new {
                self.open_write(node, options, ctx).await
            } else {
                self.open_read(node, ctx).await
            }
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let entries = self.children(&self.node(path, ctx), ctx)?;
            let items: Vec<FsResult<Box<dyn DavDirEntry>>> = entries
                .into_iter()
                .map(|e| Ok(Box::new(e) as Box<dyn DavDirEntry>))
                .collect();
            Ok(Box::pin(futures_util::stream::iter(items)) as FsStream<Box<dyn DavDirEntry>>)
        }
        .boxed()
    }

    fn metadata<'a>(
        &'a self,
        path: &'a DavPath,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move {
            let meta = self.meta_of(&self.node(path, ctx), ctx)?;
            Ok(Box::new(meta) as Box<dyn DavMetaData>)
        }
        .boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath, ctx: &'a DavContext) -> FsFuture<'a, ()> {
        self.make_folder(path, ctx).boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath, ctx: &'a DavContext) -> FsFuture<'a, ()> {
        self.delete_folder(path, ctx).boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath, ctx: &'a DavContext) -> FsFuture<'a, ()> {
        self.delete_file(path, ctx).boxed()
    }

    fn rename<'a>(
        &'a self,
        from: &'a DavPath,
        to: &'a DavPath,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, ()> {
        self.move_node(from, to, ctx).boxed()
    }

    fn copy<'a>(
        &'a self,
        from: &'a DavPath,
        to: &'a DavPath,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, ()> {
        self.copy_file(from, to, ctx).boxed()
    }

    fn set_accessed<'a>(
        &'a self,
        _path: &'a DavPath,
        _tm: SystemTime,
        _ctx: &DavContext,
    ) -> FsFuture<'a, ()> {
        // Limitation: client-set times are accepted and not applied (deposits keep the time
        // the server stored them, which is what the audit trail relies on).
        async { Ok(()) }.boxed()
    }

    fn set_modified<'a>(
        &'a self,
        _path: &'a DavPath,
        _tm: SystemTime,
        _ctx: &'a DavContext,
    ) -> FsFuture<'a, ()> {
        async { Ok(()) }.boxed()
    }

    fn have_props<'a>(
        &'a self,
        _path: &'a DavPath,
        _ctx: &'a DavContext,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        async { true }.boxed()
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        async move { Ok(self.patch_dead_props(path, patch, ctx)) }.boxed()
    }

    fn get_props<'a>(
        &'a self,
        path: &'a DavPath,
        do_content: bool,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Vec<DavProp>> {
        async move {
            let mut props = self.all_props(&self.node(path, ctx));
            if !do_content {
                props.iter_mut().for_each(|p| p.xml = None);
            }
            Ok(props)
        }
        .boxed()
    }

    fn get_prop<'a>(
        &'a self,
        path: &'a DavPath,
        prop: DavProp,
        ctx: &'a DavContext,
    ) -> FsFuture<'a, Vec<u8>> {
        async move {
            self.all_props(&self.node(path, ctx))
                .into_iter()
                .find(|p| p.name == prop.name && p.namespace == prop.namespace)
                .and_then(|p| p.xml)
                .ok_or(FsError::NotFound)
        }
        .boxed()
    }

    fn get_quota<'a>(&'a self, ctx: &'a DavContext) -> FsFuture<'a, (u64, Option<u64>)> {
        async move {
            let rne = ctx.principal.school_rne().ok_or(FsError::NotImplemented)?;
            let used = self
                .depositor()
                .store()
                .used_bytes(rne)
                .map_err(|_| FsError::GeneralFailure)?;
            Ok((used, Some(self.depositor().policy().school_quota_bytes)))
        }
        .boxed()
    }
}
